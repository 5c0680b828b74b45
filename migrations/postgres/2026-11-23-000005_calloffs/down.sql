DROP TABLE calloff_lines;
DROP TABLE calloffs;
ALTER TABLE contract_members DROP COLUMN called_value;
ALTER TABLE contract_members DROP COLUMN quota_value;
ALTER TABLE contract_positions DROP COLUMN called_quantity;
ALTER TABLE contracts DROP COLUMN alert_expiry_at;
ALTER TABLE contracts DROP COLUMN alert_utilisation_at;
ALTER TABLE contracts DROP COLUMN called_value;
