-- A lot's bids (its evaluation, ranking and award) are found by lot: the primary key
-- (bid_id, lot_id) made every evaluation read all bids of all tenders.
CREATE INDEX bid_lots_lot ON bid_lots (lot_id, bid_id);
