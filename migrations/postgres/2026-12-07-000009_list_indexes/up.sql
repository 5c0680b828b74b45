-- Long lists are read a page at a time in their display order (issue #17, item 7): the
-- catalogue by CPV code, a contract's and a member's call-offs newest first. With these indexes
-- a page reads its 50 rows instead of sorting 100,000 catalogue positions or every call-off of a
-- contract.
CREATE INDEX catalogue_items_order ON catalogue_items (cpv_code, id);
CREATE INDEX calloffs_contract_order ON calloffs (contract_id, id);
CREATE INDEX calloffs_member_order ON calloffs (member_id, id);
