DROP TABLE exposures;
DROP TABLE config_version;
DROP TABLE definitions;
