DROP INDEX calloff_lines_cube;
ALTER TABLE calloff_lines DROP COLUMN holds_volume;
ALTER TABLE calloff_lines DROP COLUMN order_year;
ALTER TABLE calloff_lines DROP COLUMN contract_id;
ALTER TABLE calloff_lines DROP COLUMN member_id;
