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

diesel::table! {
    /// The metric catalogue.
    metrics (key) {
        key -> Text,
        name -> Text,
        description -> Text,
        kind -> Text,
        direction -> Text,
        definition -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        data_source -> Nullable<Text>,
    }
}

diesel::table! {
    /// Experiments.
    experiments (key) {
        key -> Text,
        owner -> Text,
        environment -> Text,
        flag_key -> Text,
        layer -> Nullable<Text>,
        status -> Text,
        definition -> Text,
        current_phase -> Integer,
        launched_without_guardrail -> Bool,
        checklist -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        started_at -> Nullable<Timestamp>,
        stopped_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
        archived_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Flag, segment and layer definitions (JSON), by kind and key.
    definitions (kind, key) {
        kind -> Text,
        key -> Text,
        definition -> Text,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::table! {
    /// Experiment phases.
    experiment_phases (experiment_key, phase) {
        experiment_key -> Text,
        phase -> Integer,
        salt -> Text,
        allocation -> Double,
        arms -> Text,
        audience -> Text,
        reason -> Text,
        started_by -> Text,
        started_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Ingested events, idempotent by `event_id`.
    events (event_id) {
        event_id -> Text,
        unit_id -> Text,
        name -> Text,
        ts -> Timestamp,
        value -> Nullable<Double>,
        properties -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    /// The configuration version, bumped on every change.
    config_version (id) {
        id -> Integer,
        version -> BigInt,
    }
}

diesel::table! {
    /// First exposure of a unit to an experiment phase.
    exposures (experiment_key, phase, unit_id) {
        experiment_key -> Text,
        phase -> Integer,
        unit_id -> Text,
        variant -> Text,
        first_seen -> Timestamp,
        recorded_at -> Timestamp,
        dimensions -> Nullable<Text>,
    }
}

diesel::joinable!(experiment_phases -> experiments (experiment_key));
diesel::allow_tables_to_appear_in_same_query!(
    metrics,
    experiments,
    experiment_phases,
    events,
    exposures
);

diesel::table! {
    /// Stored experiment results (JSON body; NULL while a scheduled one is computed).
    result_snapshots (experiment_key, phase, source, as_of) {
        experiment_key -> Text,
        phase -> Integer,
        source -> Text,
        as_of -> Timestamp,
        computed_at -> Timestamp,
        body -> Nullable<Text>,
    }
}

diesel::table! {
    /// The outbox: outgoing notifications (webhook or Telegram) and their delivery state.
    webhook_deliveries (id) {
        id -> BigInt,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        channel -> Text,
    }
}

diesel::table! {
    /// Local days whose Telegram digest was enqueued (one replica wins each).
    digest_runs (day) {
        day -> Date,
        created_at -> Timestamp,
    }
}

diesel::table! {
    /// The append-only decision log.
    decisions (id) {
        id -> BigInt,
        experiment_key -> Text,
        outcome -> Text,
        variant -> Nullable<Text>,
        rationale -> Text,
        links -> Text,
        author -> Text,
        created_at -> Timestamp,
        supersedes -> Nullable<BigInt>,
        results_snapshot -> Text,
        action_taken -> Nullable<Text>,
    }
}

diesel::table! {
    /// Per experiment phase: the ingestion watermark its stored per-unit values reflect.
    result_state (experiment_key, phase) {
        experiment_key -> Text,
        phase -> Integer,
        watermark -> Timestamp,
    }
}

diesel::table! {
    /// Per metric of a phase: the definition (and CUPED window) its stored values were computed with.
    result_state_metrics (experiment_key, phase, metric_key) {
        experiment_key -> Text,
        phase -> Integer,
        metric_key -> Text,
        fingerprint -> Text,
    }
}

diesel::table! {
    /// Per unit and metric: the post-exposure value `x`, ratio denominator
    /// `d` and CUPED pre-period values `xp` / `dp`, as of the phase's watermark.
    metric_unit_values (experiment_key, phase, metric_key, unit_id) {
        experiment_key -> Text,
        phase -> Integer,
        metric_key -> Text,
        unit_id -> Text,
        variant -> Text,
        first_seen -> Timestamp,
        x -> Nullable<Double>,
        d -> Nullable<Double>,
        xp -> Nullable<Double>,
        dp -> Nullable<Double>,
    }
}

diesel::table! {
    /// Per arm of an additive metric: the sums over its stored per-unit values.
    metric_arm_sums (experiment_key, phase, metric_key, variant) {
        experiment_key -> Text,
        phase -> Integer,
        metric_key -> Text,
        variant -> Text,
        n -> BigInt,
        s_x -> Double,
        s_xx -> Double,
        s_d -> Double,
        s_dd -> Double,
        s_xd -> Double,
        s_p -> Double,
        s_pp -> Double,
        s_xp -> Double,
        s_q -> Double,
        s_qq -> Double,
        s_pq -> Double,
        s_xq -> Double,
        s_dp -> Double,
        s_dq -> Double,
    }
}

diesel::table! {
    /// One-time console sign-in links; `code_hash` is the SHA-256 of the code.
    console_login_links (code_hash) {
        code_hash -> Text,
        role -> Text,
        subject -> Text,
        environment -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Warehouses metrics may be computed on (`url` is a secret).
    data_sources (key) {
        key -> Text,
        url -> Text,
        definition -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> Text,
    }
}

diesel::table! {
    /// Only on a warehouse connection: the temporary copy of one phase's
    /// exposures an analysis there joins (`src/warehouse/relation.rs`).
    #[sql_name = "exposures"]
    warehouse_exposures (experiment_key, phase, unit_id) {
        experiment_key -> Text,
        phase -> Integer,
        unit_id -> Text,
        variant -> Text,
        first_seen -> Timestamp,
        recorded_at -> Timestamp,
        dimensions -> Nullable<Text>,
    }
}
