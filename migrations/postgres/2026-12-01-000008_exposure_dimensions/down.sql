ALTER TABLE exposures DROP COLUMN dimensions;
