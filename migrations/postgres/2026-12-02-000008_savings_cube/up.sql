-- The board's savings figures are one scan of calloff_lines (issue #7): each line carries the
-- grouping keys of its call-off (member, contract, German order year) and whether the call-off
-- still holds volume (false once cancelled or rejected, set in the same transaction). The keys
-- never change after the order; the covering index serves the per-member views.
ALTER TABLE calloff_lines ADD COLUMN member_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calloff_lines ADD COLUMN contract_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE calloff_lines ADD COLUMN order_year INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calloff_lines ADD COLUMN holds_volume BOOLEAN NOT NULL DEFAULT TRUE;
-- New Year's Eve is always in winter time: the German year is the UTC instant plus one hour.
UPDATE calloff_lines l SET
    member_id = c.member_id,
    contract_id = c.contract_id,
    order_year = CAST(EXTRACT(YEAR FROM c.created_at + INTERVAL '1 hour') AS INTEGER),
    holds_volume = c.status IN ('placed', 'confirmed', 'delivered')
FROM calloffs c WHERE c.id = l.calloff_id;
-- The defaults only served the backfill: a line stored without its keys is refused.
ALTER TABLE calloff_lines ALTER COLUMN member_id DROP DEFAULT;
ALTER TABLE calloff_lines ALTER COLUMN contract_id DROP DEFAULT;
ALTER TABLE calloff_lines ALTER COLUMN order_year DROP DEFAULT;
-- Partial: only lines that count are in it, one column narrower than with the flag as its key.
CREATE INDEX calloff_lines_cube ON calloff_lines
    (member_id, contract_id, position_id, order_year, reference_source, line_total, saving)
    WHERE holds_volume = TRUE;
