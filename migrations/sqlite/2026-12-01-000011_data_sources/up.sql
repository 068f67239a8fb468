-- Warehouses whose events relation metrics may be computed on. `url` holds the
-- connection secret and is never served or audited as is; `definition` is the
-- mapping and limits as JSON.
CREATE TABLE data_sources (
    key TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by TEXT NOT NULL
);
-- The data source a metric is computed on (NULL: Verdict's own events).
ALTER TABLE metrics ADD COLUMN data_source TEXT;
