-- Complaints (Rüge, § 160 (3) GWB) a vendor files on a tender or lot, with the officer's answer;
-- and review applications (Nachprüfungsantrag) the Vergabekammer notified: from notification no
-- Zuschlag on the tender or lot (§ 169 (1) GWB) until the decision and the appeal periods
-- (§§ 172 (1), 173 (1) GWB) have passed, or the application is withdrawn.
CREATE TABLE complaints (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_id BIGINT REFERENCES tender_lots (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    filed_by BIGINT NOT NULL REFERENCES users (id),
    filed_at TIMESTAMP NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'remedied', 'rejected')),
    answer TEXT,
    answered_by BIGINT REFERENCES users (id),
    answered_at TIMESTAMP
);
CREATE INDEX complaints_tender ON complaints (tender_id);

CREATE TABLE review_applications (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_id BIGINT REFERENCES tender_lots (id),
    chamber TEXT NOT NULL,
    file_number TEXT NOT NULL,
    notified_at TIMESTAMP NOT NULL,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    recorded_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    decision_granted BOOLEAN NOT NULL DEFAULT FALSE,
    complied_at TIMESTAMP,
    no_appeal_confirmed_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    appeal_filed_at TIMESTAMP,
    bar_extended_until DATE,
    bar_extended_until_decision BOOLEAN NOT NULL DEFAULT FALSE,
    appeal_decided_at TIMESTAMP
);
CREATE INDEX review_applications_tender ON review_applications (tender_id);
