ALTER TABLE award_notices DROP COLUMN delivery_recorded_at;
ALTER TABLE award_notices DROP COLUMN delivery_recorded_by;
ALTER TABLE award_notices DROP COLUMN delivery_note;
ALTER TABLE award_notices DROP COLUMN delivery_sent_at;
ALTER TABLE award_notices DROP COLUMN delivery_channel;
DROP INDEX award_notice_mails_notice;
DROP TABLE award_notice_mails;
ALTER TABLE outbox DROP COLUMN standstill_dates;
