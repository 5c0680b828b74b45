DROP INDEX bid_lots_lot;
