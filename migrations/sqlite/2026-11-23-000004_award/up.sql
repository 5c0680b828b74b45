-- Evaluation and award: exclusions, quality scores, § 60 reviews, tie decisions, awards with the
-- § 134 information, cancellations, and the framework contracts they create.
ALTER TABLE tenders ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE tenders ADD COLUMN cancelled_by BIGINT REFERENCES users (id);
ALTER TABLE tenders ADD COLUMN cancel_reason TEXT;

ALTER TABLE tender_lots ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE tender_lots ADD COLUMN cancelled_by BIGINT REFERENCES users (id);
ALTER TABLE tender_lots ADD COLUMN cancel_reason TEXT;
ALTER TABLE tender_lots ADD COLUMN tie_winner_bid_id BIGINT REFERENCES bids (id);
ALTER TABLE tender_lots ADD COLUMN tie_note TEXT;
ALTER TABLE tender_lots ADD COLUMN tie_decided_by BIGINT REFERENCES users (id);
ALTER TABLE tender_lots ADD COLUMN tie_decided_at TIMESTAMP;

ALTER TABLE bid_lots ADD COLUMN excluded_kind TEXT;
ALTER TABLE bid_lots ADD COLUMN excluded_reason TEXT;
ALTER TABLE bid_lots ADD COLUMN excluded_by BIGINT REFERENCES users (id);
ALTER TABLE bid_lots ADD COLUMN excluded_at TIMESTAMP;

-- Scores 0..10 per B-criterion in hundredths (exact, at most 2 places).
CREATE TABLE bid_scores (
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    criterion_no INTEGER NOT NULL,
    score BIGINT NOT NULL CHECK (score >= 0 AND score <= 1000),
    reason TEXT NOT NULL,
    scored_by BIGINT NOT NULL REFERENCES users (id),
    scored_at TIMESTAMP NOT NULL,
    PRIMARY KEY (bid_id, criterion_no)
);

CREATE TABLE low_bid_reviews (
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    lot_id BIGINT NOT NULL REFERENCES tender_lots (id),
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    decision TEXT CHECK (decision IN ('accepted', 'excluded')),
    reason TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    PRIMARY KEY (bid_id, lot_id)
);

CREATE TABLE awards (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_id BIGINT NOT NULL UNIQUE REFERENCES tender_lots (id),
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('informed', 'concluded')),
    decided_by BIGINT NOT NULL REFERENCES users (id),
    informed_at TIMESTAMP NOT NULL,
    standstill_last_day DATE NOT NULL,
    concluded_by BIGINT REFERENCES users (id),
    concluded_at TIMESTAMP
);

-- The § 134 GWB information each unsuccessful bidder received.
CREATE TABLE award_notices (
    award_id BIGINT NOT NULL REFERENCES awards (id),
    bid_id BIGINT NOT NULL REFERENCES bids (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    bid_rank INTEGER,
    reason TEXT NOT NULL,
    PRIMARY KEY (award_id, bid_id)
);

CREATE TABLE contracts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number TEXT NOT NULL UNIQUE,
    tender_id BIGINT NOT NULL REFERENCES tenders (id),
    lot_id BIGINT NOT NULL UNIQUE REFERENCES tender_lots (id),
    award_id BIGINT NOT NULL REFERENCES awards (id),
    vendor_id BIGINT NOT NULL REFERENCES organisations (id),
    term_start DATE NOT NULL,
    term_end DATE NOT NULL,
    max_value BIGINT NOT NULL CHECK (max_value >= 0),
    document TEXT NOT NULL,
    document_sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE contract_positions (
    contract_id BIGINT NOT NULL REFERENCES contracts (id),
    position_id BIGINT NOT NULL REFERENCES tender_positions (id),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    max_quantity BIGINT NOT NULL CHECK (max_quantity > 0),
    PRIMARY KEY (contract_id, position_id)
);

CREATE TABLE contract_members (
    contract_id BIGINT NOT NULL REFERENCES contracts (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (contract_id, member_id)
);

-- Mails about a sealed bid (receipt, withdrawal) name the bidder: the outbox page hides them
-- until the tender is opened.
ALTER TABLE outbox ADD COLUMN sealed_tender_id BIGINT REFERENCES tenders (id);
