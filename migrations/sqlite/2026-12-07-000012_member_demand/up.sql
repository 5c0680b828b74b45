-- A buyer's start page and demand list find its member's invitations and answers by member: the
-- primary keys (call_id, member_id) made SQLite skip through every call for each lookup.
CREATE INDEX demand_invitations_member ON demand_invitations (member_id, call_id);
CREATE INDEX demand_responses_member ON demand_responses (member_id, call_id);
