-- A member's contracts (its register, dashboard and call-off form) are found by member: the
-- primary key (contract_id, member_id) made every such lookup read all entitlements.
CREATE INDEX contract_members_member ON contract_members (member_id, contract_id);
