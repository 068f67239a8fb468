-- Flag, segment and layer definitions (kind = flag | segment | layer) are JSON
-- documents (TEXT) with a version that increases on every change.
CREATE TABLE definitions (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    definition TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
-- One row: bumped by every configuration change; replicas poll it to reload.
CREATE TABLE config_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);
-- First exposure of a unit to an experiment phase.
CREATE TABLE exposures (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    unit_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (experiment_key, phase, unit_id)
);
CREATE INDEX exposures_variant ON exposures (experiment_key, phase, variant);
