-- What the database holds when it is not real procurement data: demo data (`serve --demo`,
-- `seed --scale`) or a test's data. Only such a database may run with a moved clock
-- (BUENDEL_NOW, BUENDEL_CLOCK_SHIFT, BUENDEL_CLOCK_FROZEN): on real data a moved clock would end
-- a standstill early, open bids early and misdate the audit log. No row: real data.
CREATE TABLE data_kind (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    kind TEXT NOT NULL CHECK (kind IN ('demo', 'test')),
    marked_at TIMESTAMP NOT NULL
);
