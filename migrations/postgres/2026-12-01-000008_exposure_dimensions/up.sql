-- The experiment's dimensions (context attributes such as icp_segment or tier)
-- as a JSON object of strings, recorded with each unit's first exposure, so
-- results can be broken down by them.
ALTER TABLE exposures ADD COLUMN dimensions TEXT;
