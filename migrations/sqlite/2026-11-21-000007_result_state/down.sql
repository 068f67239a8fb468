DROP TABLE metric_arm_sums;
DROP TABLE metric_unit_values;
DROP TABLE result_state_metrics;
DROP TABLE result_state;
DROP INDEX events_ts;
DROP INDEX events_received;
DROP INDEX exposures_recorded;
ALTER TABLE exposures DROP COLUMN recorded_at;
