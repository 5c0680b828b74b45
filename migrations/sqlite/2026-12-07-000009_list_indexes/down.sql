DROP INDEX calloffs_member_order;
DROP INDEX calloffs_contract_order;
DROP INDEX catalogue_items_order;
