DROP TABLE events;
DROP TABLE experiment_phases;
DROP TABLE experiments;
DROP TABLE metrics;
