//! Table definitions, portable across both backends (TEXT for JSON, TIMESTAMP in UTC).

diesel::table! {
    /// Every configuration change.
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        entity_type -> Text,
        entity_key -> Text,
        action -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}
