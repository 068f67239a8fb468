DROP TABLE metric_arm_sums;
DROP TABLE metric_unit_values;
DROP TABLE result_state_metrics;
DROP TABLE result_state;
DROP INDEX events_unit;
DROP INDEX events_received;
ALTER INDEX events_ts RESET (autosummarize);
DROP INDEX exposures_recorded;
ALTER TABLE exposures DROP COLUMN recorded_at;
