DROP TABLE health_probe;
DROP TABLE database_info;
DROP TABLE rollback_records;
DROP TABLE incidents;
DROP TABLE feature_flag_events;
DROP TABLE feature_flag_state;
