ALTER TABLE calloff_lines DROP COLUMN saving;
ALTER TABLE calloff_lines DROP COLUMN reference_source;
ALTER TABLE calloff_lines DROP COLUMN reference_price;
