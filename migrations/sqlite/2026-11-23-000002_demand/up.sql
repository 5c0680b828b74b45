CREATE TABLE demand_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    term_months INTEGER NOT NULL,
    deadline TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    all_members BOOLEAN NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    opened_at TIMESTAMP,
    closed_at TIMESTAMP
);

CREATE TABLE demand_positions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id BIGINT NOT NULL REFERENCES demand_calls (id),
    position_no INTEGER NOT NULL,
    catalogue_item_id BIGINT REFERENCES catalogue_items (id),
    description TEXT NOT NULL,
    unit TEXT NOT NULL,
    cpv_code TEXT NOT NULL,
    estimate_price BIGINT,
    UNIQUE (call_id, position_no)
);

-- Members chosen for a call; when all_members is set, filled with every active member at opening.
CREATE TABLE demand_invitations (
    call_id BIGINT NOT NULL REFERENCES demand_calls (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (call_id, member_id)
);

-- A member has answered a call once it saved its demand (possibly none at all).
CREATE TABLE demand_responses (
    call_id BIGINT NOT NULL REFERENCES demand_calls (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    answered_at TIMESTAMP NOT NULL,
    answered_by BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (call_id, member_id)
);

CREATE TABLE demand_lines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id BIGINT NOT NULL REFERENCES demand_calls (id),
    position_id BIGINT NOT NULL REFERENCES demand_positions (id),
    member_id BIGINT NOT NULL REFERENCES organisations (id),
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    reference_price BIGINT CHECK (reference_price >= 0),
    UNIQUE (position_id, member_id)
);
CREATE INDEX demand_lines_call_member ON demand_lines (call_id, member_id);
