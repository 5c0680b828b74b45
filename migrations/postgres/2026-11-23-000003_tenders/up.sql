-- A tender built from a closed demand call. Percentages and the evaluation method are exact
-- decimal text (never summed); money and quantities are BIGINT minor units like everywhere.
CREATE TABLE tenders (
    id BIGSERIAL PRIMARY KEY,
    demand_call_id BIGINT NOT NULL UNIQUE REFERENCES demand_calls (id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    procedure TEXT NOT NULL CHECK (procedure IN ('eu_open', 'national')),
    buffer_percent TEXT NOT NULL,
    estimated_value BIGINT NOT NULL,
    threshold BIGINT NOT NULL,
    bid_deadline TIMESTAMP NOT NULL,
    urgency_reason TEXT,
    term_months INTEGER NOT NULL,
    term_justification TEXT,
    evaluation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'published', 'opening', 'opened')),
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    published_by BIGINT REFERENCES users (id),
    published_at TIMESTAMP,
    opening_started_by BIGINT REFERENCES users (id),
    opening_started_at TIMESTAMP,
    opened_by BIGINT REFERENCES users (id),
    opened_at TIMESTAMP,
    opening_record TEXT,
    opening_record_sha256 TEXT
);

CREATE TABLE tender_lots (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_no INTEGER NOT NULL,
    title TEXT NOT NULL,
    UNIQUE (tender_id, lot_no)
);

CREATE TABLE tender_positions (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_id BIGINT NOT NULL REFERENCES tender_lots (id),
    position_no INTEGER NOT NULL,
    demand_position_id BIGINT REFERENCES demand_positions (id),
    description TEXT NOT NULL,
    unit TEXT NOT NULL,
    cpv_code TEXT NOT NULL,
    estimate_quantity BIGINT NOT NULL CHECK (estimate_quantity > 0),
    max_quantity BIGINT NOT NULL CHECK (max_quantity >= estimate_quantity),
    estimate_price BIGINT CHECK (estimate_price >= 0),
    UNIQUE (tender_id, position_no)
);
CREATE INDEX tender_positions_lot ON tender_positions (lot_id);

-- Members entitled to call off, frozen at publication (EuGH C-216/17).
CREATE TABLE tender_members (
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (tender_id, member_id)
);

CREATE TABLE tender_documents (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    content BYTEA NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL
);
CREATE INDEX tender_documents_tender ON tender_documents (tender_id);

CREATE TABLE tender_questions (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    asked_by BIGINT NOT NULL REFERENCES users (id),
    question TEXT NOT NULL,
    asked_at TIMESTAMP NOT NULL,
    answer TEXT,
    answered_by BIGINT REFERENCES users (id),
    answered_at TIMESTAMP
);
CREATE INDEX tender_questions_tender ON tender_questions (tender_id);

-- Every submission is kept; the vendor's latest one with status 'submitted' counts.
CREATE TABLE bids (
    id BIGSERIAL PRIMARY KEY,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('submitted', 'withdrawn', 'superseded')),
    submitted_by BIGINT NOT NULL REFERENCES users (id),
    submitted_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    nonce TEXT NOT NULL,
    receipt_sha256 TEXT NOT NULL,
    criteria TEXT NOT NULL,
    UNIQUE (tender_id, vendor_id, version)
);
CREATE INDEX bids_tender_status ON bids (tender_id, status);

CREATE TABLE bid_lots (
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    lot_id BIGINT NOT NULL REFERENCES tender_lots (id),
    total BIGINT NOT NULL CHECK (total >= 0),
    PRIMARY KEY (bid_id, lot_id)
);

CREATE TABLE bid_prices (
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    position_id BIGINT NOT NULL REFERENCES tender_positions (id),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (bid_id, position_id)
);
