DROP TABLE decisions;
DROP FUNCTION decisions_append_only();
