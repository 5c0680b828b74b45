-- Savings per call-off line (lifecycle step 9), fixed when the line is ordered: the reference
-- unit price, where it came from, and (reference − contract price) × quantity in cents, so the
-- board's figures are a SUM over BIGINT minor units and do not change when bids or demand do.
ALTER TABLE calloff_lines ADD COLUMN reference_price BIGINT CHECK (reference_price >= 0);
ALTER TABLE calloff_lines ADD COLUMN reference_source TEXT CHECK (reference_source IN ('member', 'estimate', 'median'));
ALTER TABLE calloff_lines ADD COLUMN saving BIGINT;
