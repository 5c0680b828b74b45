DROP TABLE data_kind;
