DROP TABLE catalogue_items;
DROP TABLE outbox;
DROP TABLE audit_events;
DROP TABLE login_failures;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE organisations;
