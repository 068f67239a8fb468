-- Incremental experiment results. Ingestion stamps events (`received_at`) and
-- exposures (`recorded_at`) inside an immediate (write-locked) transaction;
-- a results computation reads its watermark holding the write lock, so
-- every row stamped before the watermark is committed when it is read.
ALTER TABLE exposures ADD COLUMN recorded_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE exposures SET recorded_at = first_seen;
CREATE INDEX exposures_recorded ON exposures (experiment_key, phase, recorded_at);

-- Finding what arrived since a watermark; the affected units' events are
-- found through events_name_unit_ts.
CREATE INDEX events_received ON events (received_at);
CREATE INDEX events_ts ON events (ts);

-- Per experiment phase: the data cut-off the stored per-unit values reflect.
CREATE TABLE result_state (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    watermark TIMESTAMP NOT NULL,
    PRIMARY KEY (experiment_key, phase)
);

-- Per metric of a phase: the definition (and CUPED window) the values were computed with.
CREATE TABLE result_state_metrics (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    metric_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (experiment_key, phase, metric_key)
);

-- Per unit and metric: the post-exposure value x (ratio denominator d) and the
-- CUPED pre-period values xp/dp, as of the phase's watermark.
CREATE TABLE metric_unit_values (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    metric_key TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    x DOUBLE PRECISION,
    d DOUBLE PRECISION,
    xp DOUBLE PRECISION,
    dp DOUBLE PRECISION,
    PRIMARY KEY (experiment_key, phase, metric_key, unit_id)
);
-- Winsorized metrics read their percentile cap from the top of this index.
CREATE INDEX metric_unit_values_x ON metric_unit_values (experiment_key, phase, metric_key, x);

-- Per arm of a metric whose per-unit values are summed as they are (neither
-- winsorized nor retention): the sums over its stored values, adjusted by the
-- changed units on every advance, so reading them costs one row per arm.
CREATE TABLE metric_arm_sums (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    metric_key TEXT NOT NULL,
    variant TEXT NOT NULL,
    n BIGINT NOT NULL,
    s_x DOUBLE PRECISION NOT NULL,
    s_xx DOUBLE PRECISION NOT NULL,
    s_d DOUBLE PRECISION NOT NULL,
    s_dd DOUBLE PRECISION NOT NULL,
    s_xd DOUBLE PRECISION NOT NULL,
    s_p DOUBLE PRECISION NOT NULL,
    s_pp DOUBLE PRECISION NOT NULL,
    s_xp DOUBLE PRECISION NOT NULL,
    s_q DOUBLE PRECISION NOT NULL,
    s_qq DOUBLE PRECISION NOT NULL,
    s_pq DOUBLE PRECISION NOT NULL,
    s_xq DOUBLE PRECISION NOT NULL,
    s_dp DOUBLE PRECISION NOT NULL,
    s_dq DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (experiment_key, phase, metric_key, variant)
);
