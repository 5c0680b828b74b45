-- The start pages list the newest running tenders (by bid deadline, ten at most) and the calls
-- not closed yet: without these indexes each view scanned and sorted every tender and every
-- call (at the scale of a large cooperative, two fifths of the officer's start page).
CREATE INDEX tenders_bid_deadline ON tenders (bid_deadline);
CREATE INDEX demand_calls_status_deadline ON demand_calls (status, deadline);
