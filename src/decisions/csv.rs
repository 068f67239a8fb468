//! The decision log as CSV, for spreadsheets (the API's `Accept: text/csv` and
//! the console's export link).

use super::Decision;

/// `rows` as CSV with a header line; fields quoted where they need it.
pub fn to_csv(rows: &[Decision]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::from(
        "id,experiment,outcome,variant,rationale,links,author,created_at,supersedes,action_taken\n",
    );
    for d in rows {
        let cells = [
            d.id.to_string(),
            field(&d.experiment_key),
            d.outcome.as_str().to_owned(),
            field(d.variant.as_deref().unwrap_or("")),
            field(&d.rationale),
            field(&d.links.join(" ")),
            field(&d.author),
            d.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            d.supersedes.map(|s| s.to_string()).unwrap_or_default(),
            field(d.action_taken.as_deref().unwrap_or("")),
        ];
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
