DROP TABLE result_snapshots;
