//! The SQL that makes a warehouse session look like Verdict's own database to
//! the metric queries: a temporary `exposures` table (the phase's units,
//! copied in) and a temporary `events` view over the mapped relation. The
//! temporary schema is searched first, so the metric SQL of the PostgreSQL
//! backend runs there unchanged. Pure: names are quoted, filter values are
//! literals rendered here (a view cannot take parameters).

use super::model::{Mapping, Properties};

/// Verdict's exposures, for one analysis (dropped with the session).
pub const EXPOSURES_DDL: &str = "CREATE TEMPORARY TABLE exposures (\
     experiment_key text NOT NULL, phase integer NOT NULL, unit_id text NOT NULL, \
     variant text NOT NULL, first_seen timestamp NOT NULL, recorded_at timestamp NOT NULL, \
     dimensions text, PRIMARY KEY (experiment_key, phase, unit_id))";

/// `name` as a quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `relation` (`name` or `schema.name`) quoted.
pub fn qualified(relation: &str) -> String {
    relation.split('.').map(ident).collect::<Vec<_>>().join(".")
}

fn literal(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => format!("'{}'", s.replace('\'', "''")),
        serde_json::Value::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => "NULL".to_owned(),
    }
}

/// The type of each mapped column as the source reports it (`format_type`).
pub trait ColumnTypes {
    /// The type of `column`, if the relation has it.
    fn type_of(&self, column: &str) -> Option<&str>;
}

impl ColumnTypes for [(String, String)] {
    fn type_of(&self, column: &str) -> Option<&str> {
        self.iter()
            .find(|(name, _)| name == column)
            .map(|(_, t)| t.as_str())
    }
}

/// The mapped columns the relation lacks.
pub fn missing_columns(mapping: &Mapping, columns: &[(String, String)]) -> Vec<String> {
    let mut wanted = vec![
        &mapping.unit_column,
        &mapping.name_column,
        &mapping.timestamp_column,
    ];
    wanted.extend(&mapping.value_column);
    match &mapping.properties {
        Some(Properties::Json(c)) => wanted.push(c),
        Some(Properties::Columns(cs)) => wanted.extend(cs),
        None => {}
    }
    wanted.extend(mapping.filters.iter().map(|f| &f.column));
    wanted
        .into_iter()
        .filter(|c| columns.type_of(c).is_none())
        .cloned()
        .collect()
}

fn as_text(column: &str, types: &[(String, String)]) -> String {
    match types.type_of(column) {
        Some("text") => ident(column),
        _ => format!("CAST({} AS text)", ident(column)),
    }
}

/// The `events` view over `mapping`'s relation, with Verdict's column names.
pub fn events_view(mapping: &Mapping, types: &[(String, String)]) -> String {
    let ts = ident(&mapping.timestamp_column);
    let ts = match types.type_of(&mapping.timestamp_column) {
        Some(t) if t.contains("with time zone") => {
            format!("CAST({ts} AT TIME ZONE 'UTC' AS timestamp)")
        }
        Some("timestamp without time zone") => ts,
        _ => format!("CAST({ts} AS timestamp)"),
    };
    let value = mapping.value_column.as_ref().map_or_else(
        || "CAST(NULL AS double precision)".to_owned(),
        |v| format!("CAST({} AS double precision)", ident(v)),
    );
    // jsonb, not text as in Verdict's own table: the metric SQL reads
    // properties through `CAST(… AS jsonb)`, a no-op then, instead of printing
    // and re-parsing every row's JSON.
    let properties = match &mapping.properties {
        Some(Properties::Json(c)) => format!("CAST({} AS jsonb)", ident(c)),
        Some(Properties::Columns(cs)) if !cs.is_empty() => format!(
            "jsonb_build_object({})",
            cs.iter()
                .map(|c| format!(
                    "{}, {}",
                    literal(&serde_json::Value::String(c.clone())),
                    ident(c)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "CAST(NULL AS jsonb)".to_owned(),
    };
    let filters = if mapping.filters.is_empty() {
        String::new()
    } else {
        format!(
            " WHERE {}",
            mapping
                .filters
                .iter()
                .map(|f| format!("{} = {}", ident(&f.column), literal(&f.equals)))
                .collect::<Vec<_>>()
                .join(" AND ")
        )
    };
    format!(
        "CREATE TEMPORARY VIEW events AS SELECT CAST(NULL AS text) AS event_id, \
         {unit} AS unit_id, {name} AS name, {ts} AS ts, {value} AS value, \
         {properties} AS properties, {ts} AS received_at FROM {relation}{filters}",
        unit = as_text(&mapping.unit_column, types),
        name = as_text(&mapping.name_column, types),
        relation = qualified(&mapping.relation),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warehouse::model::ColumnFilter;

    fn mapping() -> Mapping {
        Mapping {
            relation: "analytics.events_clean".into(),
            unit_column: "user_id".into(),
            name_column: "name".into(),
            timestamp_column: "ts".into(),
            value_column: None,
            properties: Some(Properties::Json("props".into())),
            filters: vec![],
        }
    }

    fn types(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn view_maps_columns_and_types() {
        let t = types(&[
            ("user_id", "bigint"),
            ("name", "text"),
            ("ts", "timestamp with time zone"),
            ("props", "jsonb"),
        ]);
        assert_eq!(
            events_view(&mapping(), &t),
            "CREATE TEMPORARY VIEW events AS SELECT CAST(NULL AS text) AS event_id, \
             CAST(\"user_id\" AS text) AS unit_id, \"name\" AS name, \
             CAST(\"ts\" AT TIME ZONE 'UTC' AS timestamp) AS ts, CAST(NULL AS double precision) AS value, \
             CAST(\"props\" AS jsonb) AS properties, CAST(\"ts\" AT TIME ZONE 'UTC' AS timestamp) AS received_at \
             FROM \"analytics\".\"events_clean\""
        );
    }

    #[test]
    fn columns_filters_and_quoting() {
        let mut m = mapping();
        m.relation = "ev\"il".into();
        m.value_column = Some("amount".into());
        m.properties = Some(Properties::Columns(vec!["tier".into(), "it's".into()]));
        m.filters = vec![
            ColumnFilter {
                column: "app".into(),
                equals: serde_json::json!("bot'; DROP TABLE x; --"),
            },
            ColumnFilter {
                column: "test".into(),
                equals: serde_json::json!(false),
            },
            ColumnFilter {
                column: "v".into(),
                equals: serde_json::json!(2.5),
            },
        ];
        let t = types(&[
            ("user_id", "text"),
            ("name", "character varying"),
            ("ts", "timestamp without time zone"),
        ]);
        let sql = events_view(&m, &t);
        assert!(sql.contains("\"user_id\" AS unit_id"), "{sql}");
        assert!(sql.contains("CAST(\"name\" AS text) AS name"));
        assert!(sql.contains("\"ts\" AS ts"));
        assert!(sql.contains("CAST(\"amount\" AS double precision) AS value"));
        assert!(
            sql.contains("jsonb_build_object('tier', \"tier\", 'it''s', \"it's\") AS properties")
        );
        assert!(sql.ends_with(
            "FROM \"ev\"\"il\" WHERE \"app\" = 'bot''; DROP TABLE x; --' AND \"test\" = FALSE AND \"v\" = 2.5"
        ), "{sql}");
    }

    #[test]
    fn reports_missing_columns() {
        let mut m = mapping();
        m.value_column = Some("amount".into());
        let t = types(&[("user_id", "text"), ("ts", "timestamp")]);
        assert_eq!(missing_columns(&m, &t), ["name", "amount", "props"]);
    }
}
