-- Extensions of a published tender's bid deadline (§ 20 (3) VgV): the old and the new deadline,
-- the ground and what the officer wrote; the tender holds the current deadline.
CREATE TABLE deadline_extensions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    old_deadline TIMESTAMP NOT NULL,
    new_deadline TIMESTAMP NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('late_answer', 'documents_changed', 'other')),
    note TEXT NOT NULL,
    extended_by BIGINT NOT NULL REFERENCES users (id),
    extended_at TIMESTAMP NOT NULL
);
CREATE INDEX deadline_extensions_tender ON deadline_extensions (tender_id);
