DROP INDEX demand_responses_member;
DROP INDEX demand_invitations_member;
