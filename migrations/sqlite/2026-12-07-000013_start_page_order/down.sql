DROP INDEX demand_calls_status_deadline;
DROP INDEX tenders_bid_deadline;
