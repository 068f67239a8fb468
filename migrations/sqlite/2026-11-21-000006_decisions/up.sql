-- The decision log: append-only. A correction is a new row that supersedes an
-- earlier one (at most one correction per decision, so corrections chain).
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'the decision log is append-only');
END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'the decision log is append-only');
END;
