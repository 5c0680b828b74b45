DROP INDEX contract_members_member;
