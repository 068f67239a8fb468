DROP TABLE data_sources;
ALTER TABLE metrics DROP COLUMN data_source;
