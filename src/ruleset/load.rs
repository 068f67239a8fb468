//! Building a snapshot from the stored definitions.

use std::collections::HashMap;
use std::sync::Arc;

use verdict_core::{Layer, Ruleset, Segment};

use super::{EnvironmentSnapshot, Snapshot};
use crate::db::{DbConnection, DbError};
use crate::definitions::{self, DefinitionError};
use crate::flags::{ENVIRONMENTS, FlagDefinition};

/// Reads every definition and compiles one ruleset per environment. The
/// version is read first, so a change committed meanwhile triggers another reload.
pub fn load_snapshot(conn: &mut DbConnection) -> Result<Snapshot, DbError> {
    let version = definitions::config_version(conn)?;
    let flags = definitions::list::<FlagDefinition>(conn).map_err(into_db)?;
    let segments: Vec<Segment> = definitions::list::<Segment>(conn)
        .map_err(into_db)?
        .into_iter()
        .map(|(_, s)| s.definition)
        .collect();
    let layers: Vec<Layer> = definitions::list::<Layer>(conn)
        .map_err(into_db)?
        .into_iter()
        .map(|(_, l)| l.definition)
        .collect();
    let environments: HashMap<String, Arc<EnvironmentSnapshot>> = ENVIRONMENTS
        .iter()
        .map(|env| {
            let ruleset = Ruleset {
                environment: (*env).to_owned(),
                flags: flags
                    .iter()
                    .filter_map(|(_, f)| f.definition.for_environment(env, f.version))
                    .collect(),
                segments: segments.clone(),
                layers: layers.clone(),
            };
            (
                (*env).to_owned(),
                Arc::new(EnvironmentSnapshot::new(ruleset)),
            )
        })
        .collect();
    Ok(Snapshot {
        version,
        environments,
    })
}

fn into_db(error: DefinitionError) -> DbError {
    match error {
        DefinitionError::Db(e) => e,
        other => DbError::Corrupt(other.to_string()),
    }
}
