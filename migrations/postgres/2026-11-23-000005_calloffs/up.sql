-- Call-offs against framework contracts. Running totals sit next to the maxima so that a
-- call-off is one guarded UPDATE per position (and per contract and member quota): under
-- concurrency the database itself refuses what would exceed a maximum (EuGH C-23/20).
ALTER TABLE contracts ADD COLUMN called_value BIGINT NOT NULL DEFAULT 0 CHECK (called_value >= 0);
ALTER TABLE contracts ADD COLUMN alert_utilisation_at TIMESTAMP;
ALTER TABLE contracts ADD COLUMN alert_expiry_at TIMESTAMP;

ALTER TABLE contract_positions ADD COLUMN called_quantity BIGINT NOT NULL DEFAULT 0 CHECK (called_quantity >= 0);

-- A member's share of the contract's maximum value, set by an officer (optional).
ALTER TABLE contract_members ADD COLUMN quota_value BIGINT CHECK (quota_value >= 0);
ALTER TABLE contract_members ADD COLUMN called_value BIGINT NOT NULL DEFAULT 0 CHECK (called_value >= 0);

CREATE TABLE calloffs (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    contract_id BIGINT NOT NULL REFERENCES contracts (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    ordered_by BIGINT NOT NULL REFERENCES users (id),
    status TEXT NOT NULL CHECK (status IN ('placed', 'confirmed', 'rejected', 'delivered', 'cancelled')),
    delivery_address TEXT NOT NULL,
    cost_centre TEXT NOT NULL,
    leitweg_id TEXT,
    note TEXT NOT NULL,
    total BIGINT NOT NULL CHECK (total >= 0),
    created_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    rejected_at TIMESTAMP,
    reject_reason TEXT,
    delivered_at TIMESTAMP,
    cancelled_at TIMESTAMP,
    document TEXT NOT NULL,
    document_sha256 TEXT NOT NULL
);
CREATE INDEX calloffs_contract ON calloffs (contract_id);
CREATE INDEX calloffs_member ON calloffs (member_id, created_at);

CREATE TABLE calloff_lines (
    calloff_id BIGINT NOT NULL REFERENCES calloffs (id),
    position_id BIGINT NOT NULL REFERENCES tender_positions (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
    line_total BIGINT NOT NULL CHECK (line_total >= 0),
    PRIMARY KEY (calloff_id, position_id)
);
