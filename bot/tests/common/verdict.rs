//! The real Verdict service in-process on a temporary SQLite database, the
//! bot's demo flags, and readers of what the service stored.

use diesel::prelude::*;
use serde_json::{Value, json};
use verdict::auth::Role;
use verdict_testkit::TestServer;

/// The demo flags shipped with the bot (`bot/demo/flags.json`).
pub fn demo_flags() -> Vec<Value> {
    serde_json::from_str(include_str!("../../demo/flags.json")).expect("demo flags")
}

/// The demo flags with targeting rules that force users into arms:
/// 1001 → `control`/`control`, 1002 → `urgency`/`bold`, and the digest in
/// `cards` for the `high` ICP segment (`compact` otherwise).
pub fn forced_flags() -> Vec<Value> {
    let force = |id: &str, user: &str, variant: &str| {
        json!({"id": id, "conditions": [{"attribute": "user_id", "op": "in", "value": [user]}],
               "serve": {"variant": variant}})
    };
    demo_flags()
        .into_iter()
        .map(|mut f| {
            let key = f["key"].as_str().unwrap_or_default().to_owned();
            let env = &mut f["environments"]["production"];
            match key.as_str() {
                "cta_copy" => {
                    env["rules"] = json!([
                        force("u1", "1001", "control"),
                        force("u2", "1002", "urgency")
                    ]);
                }
                "vip_paywall_copy" => {
                    env["rules"] =
                        json!([force("u1", "1001", "control"), force("u2", "1002", "bold")]);
                }
                "digest_layout" => {
                    env["rules"] = json!([{"id": "high_icp",
                        "conditions": [{"attribute": "icp_segment", "op": "eq", "value": "high"}],
                        "serve": {"variant": "cards"}}]);
                    env["fallthrough"] = json!({"variant": "compact"});
                }
                _ => {}
            }
            f
        })
        .collect()
}

/// The service (the workspace's one harness, `verdict-testkit`) with what
/// the bot's tests read back from it.
pub struct Service {
    server: TestServer,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Service {
    /// Starts the service on a fresh, migrated database.
    pub fn start() -> Self {
        super::no_proxy();
        let server = TestServer::start();
        Self {
            url: server.url.clone(),
            server,
        }
    }

    /// Stops the service and waits for its thread.
    pub async fn stop(&mut self) {
        self.server.stop().await;
    }

    /// A token for `role` bound to `production`.
    pub fn token(&self, role: Role) -> String {
        self.server.token(role)
    }

    /// Creates `flags` (`POST /api/v1/flags` as a pm).
    pub async fn create_flags(&self, flags: Vec<Value>) {
        for flag in flags {
            let (status, body) = self
                .server
                .call("POST", "/api/v1/flags", Role::Pm, flag.clone())
                .await;
            assert_eq!(status, 201, "{}: {body}", flag["key"]);
        }
    }

    /// Stored exposures of `experiment`: (unit, variant).
    pub fn exposures(&self, experiment: &str) -> Vec<(String, String)> {
        use verdict::db::schema::exposures as x;
        x::table
            .filter(x::experiment_key.eq(experiment))
            .order(x::unit_id)
            .select((x::unit_id, x::variant))
            .load(&mut *self.server.conn())
            .expect("exposures")
    }

    /// Every stored event of `unit`, in the order tracked: (name, value,
    /// properties). Ties in `ts` (millisecond resolution) keep insertion order.
    pub fn events_of(&self, unit: &str) -> Vec<(String, Option<f64>, Value)> {
        use diesel::dsl::sql;
        use diesel::sql_types::BigInt;
        use verdict::db::schema::events as e;
        let rows: Vec<(String, Option<f64>, Option<String>)> = e::table
            .filter(e::unit_id.eq(unit))
            .order((e::ts, sql::<BigInt>("rowid")))
            .select((e::name, e::value, e::properties))
            .load(&mut *self.server.conn())
            .expect("events");
        rows.into_iter()
            .map(|(name, value, props)| (name, value, parse_properties(props)))
            .collect()
    }

    /// Stored events named `name`: (unit, value, properties).
    pub fn events(&self, name: &str) -> Vec<(String, Option<f64>, Value)> {
        use verdict::db::schema::events as e;
        let rows: Vec<(String, Option<f64>, Option<String>)> = e::table
            .filter(e::name.eq(name))
            .order(e::ts)
            .select((e::unit_id, e::value, e::properties))
            .load(&mut *self.server.conn())
            .expect("events");
        rows.into_iter()
            .map(|(unit, value, props)| (unit, value, parse_properties(props)))
            .collect()
    }
}

fn parse_properties(stored: Option<String>) -> Value {
    stored
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or(Value::Null)
}
