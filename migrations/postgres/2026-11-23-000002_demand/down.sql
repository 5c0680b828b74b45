DROP TABLE demand_lines;
DROP TABLE demand_responses;
DROP TABLE demand_invitations;
DROP TABLE demand_positions;
DROP TABLE demand_calls;
