//! Warehouse-native metrics: data sources (a PostgreSQL-protocol warehouse and
//! the mapping of its events relation), and sessions on them where an
//! analysis copies the phase's exposed units and runs the same per-metric SQL
//! as on Verdict's own database, so only per-arm sufficient statistics travel.

pub mod model;
pub mod relation;
pub mod session;
pub mod store;

pub use model::{ColumnFilter, DataSource, Limits, Mapping, Properties, SourceUrl};
pub use session::{Description, Sessions, WarehouseError};
pub use store::StoredSource;
