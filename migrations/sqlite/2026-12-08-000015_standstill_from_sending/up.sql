-- § 134 GWB: each bidder's standstill runs from the sending of its information, not from the
-- award decision. The outbox keeps which mails are § 134 letters (their dates are filled in
-- when they are sent) and which bidder each one informs; an officer records a sending by fax,
-- post or courier when a mail failed or a bidder has no one to mail.
ALTER TABLE outbox ADD COLUMN standstill_dates BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE award_notice_mails (
    outbox_id BIGINT PRIMARY KEY REFERENCES outbox (id),
    award_id BIGINT NOT NULL,
    bid_id BIGINT NOT NULL,
    FOREIGN KEY (award_id, bid_id) REFERENCES award_notices (award_id, bid_id)
);
CREATE INDEX award_notice_mails_notice ON award_notice_mails (award_id, bid_id);

ALTER TABLE award_notices ADD COLUMN delivery_channel TEXT
    CHECK (delivery_channel IN ('email', 'fax', 'post', 'courier'));
ALTER TABLE award_notices ADD COLUMN delivery_sent_at TIMESTAMP;
ALTER TABLE award_notices ADD COLUMN delivery_note TEXT;
ALTER TABLE award_notices ADD COLUMN delivery_recorded_by BIGINT REFERENCES users (id);
ALTER TABLE award_notices ADD COLUMN delivery_recorded_at TIMESTAMP;

-- Letters queued before this change, linked to their bidders: queued in the transaction of the
-- decision (within a minute of it), to a user of the bidder, with the lot in the subject. An
-- award already informed then keeps counting from the true sending of its letters instead of
-- showing its bidders as unreachable.
INSERT INTO award_notice_mails (outbox_id, award_id, bid_id)
SELECT o.id, n.award_id, n.bid_id
FROM award_notices n
JOIN awards a ON a.id = n.award_id
JOIN tender_lots l ON l.id = a.lot_id
JOIN users u ON u.organisation_id = n.vendor_id
JOIN outbox o ON o.recipient = u.email
WHERE o.created_at >= a.informed_at AND o.created_at <= datetime(a.informed_at, '+60 seconds')
  AND o.subject LIKE 'Information nach § 134 GWB: %, Los ' || l.lot_no
ON CONFLICT DO NOTHING;
