//! The shared harness (`verdict-testkit`): a real, migrated database per test
//! on both backends and the real application over it.

#![allow(unused_imports)]

pub use verdict_testkit::{Backend, ROLES, SECRET, TestApp, TestDb, TestServer, send};
pub use verdict_testkit::{backend_tests, call, concrete};
