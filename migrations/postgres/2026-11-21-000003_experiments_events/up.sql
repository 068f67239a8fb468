-- Metric catalogue: definitions over events; `definition` is the kind-specific JSON.
CREATE TABLE metrics (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Experiments; `definition` holds arms, audience, metrics, guardrails and analysis
-- settings as JSON, the columns hold what lists filter on.
CREATE TABLE experiments (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    environment TEXT NOT NULL,
    flag_key TEXT NOT NULL,
    layer TEXT,
    status TEXT NOT NULL,
    definition TEXT NOT NULL,
    current_phase INTEGER NOT NULL,
    launched_without_guardrail BOOLEAN NOT NULL,
    checklist TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    started_at TIMESTAMP,
    stopped_at TIMESTAMP,
    decided_at TIMESTAMP,
    archived_at TIMESTAMP
);
CREATE INDEX experiments_status ON experiments (status, created_at);

-- Every phase of an experiment: its assignment salt and the frozen arms/audience/allocation.
CREATE TABLE experiment_phases (
    experiment_key TEXT NOT NULL REFERENCES experiments (key),
    phase INTEGER NOT NULL,
    salt TEXT NOT NULL,
    allocation DOUBLE PRECISION NOT NULL,
    arms TEXT NOT NULL,
    audience TEXT NOT NULL,
    reason TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    ended_at TIMESTAMP,
    PRIMARY KEY (experiment_key, phase)
);

-- Raw events, idempotent by event_id. Append-mostly in time order: analysis reads
-- a time range (BRIN on ts, nearly free to maintain) and hash-joins it with the
-- exposures, so no per-row secondary B-tree slows ingestion.
CREATE TABLE events (
    event_id TEXT PRIMARY KEY,
    unit_id TEXT NOT NULL,
    name TEXT NOT NULL,
    ts TIMESTAMP NOT NULL,
    value DOUBLE PRECISION,
    properties TEXT,
    received_at TIMESTAMP NOT NULL
);
CREATE INDEX events_ts ON events USING brin (ts);
