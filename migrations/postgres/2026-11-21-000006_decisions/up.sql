-- The decision log: append-only. A correction is a new row that supersedes an
-- earlier one (at most one correction per decision, so corrections chain).
CREATE TABLE decisions (
    id BIGSERIAL PRIMARY KEY,
    experiment_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    variant TEXT,
    rationale TEXT NOT NULL,
    links TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    supersedes BIGINT REFERENCES decisions (id),
    results_snapshot TEXT NOT NULL,
    action_taken TEXT
);
CREATE UNIQUE INDEX decisions_supersedes ON decisions (supersedes);
CREATE INDEX decisions_experiment ON decisions (experiment_key, id);
CREATE FUNCTION decisions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the decision log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();
