-- Stored experiment results. `source` is `scheduled` (one per experiment,
-- phase and slot: the row is the replicas' claim, inserted before computing,
-- body NULL until done) or `manual` (a recompute on request). `as_of` is the
-- data cut-off, `body` the results as JSON.
CREATE TABLE result_snapshots (
    experiment_key TEXT NOT NULL,
    phase INTEGER NOT NULL,
    source TEXT NOT NULL,
    as_of TIMESTAMP NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    body TEXT,
    PRIMARY KEY (experiment_key, phase, source, as_of)
);
CREATE INDEX result_snapshots_latest ON result_snapshots (experiment_key, phase, computed_at);
