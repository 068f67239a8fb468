//! Verdict: feature flags, experiments, statistical results and a decision log,
//! served over REST by actix-web on SQLite (embedded) or PostgreSQL.

pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod console;
pub mod db;
pub mod decisions;
pub mod definitions;
pub mod domain_error;
pub mod evaluation;
pub mod events;
pub mod experiments;
pub mod exposures;
pub mod flags;
pub mod http;
pub mod metrics_catalog;
pub mod openapi;
pub mod results;
pub mod ruleset;
pub mod seed;
pub mod server;
pub mod startup;
pub mod state;
pub mod telegram;
pub mod warehouse;
pub mod webhooks;
