-- Registry store (SQLite), version 1. Never edited after release.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    number          INTEGER NOT NULL UNIQUE,
    label           TEXT NOT NULL,
    wards           TEXT NOT NULL,          -- JSON array of ward numbers
    code_hash       BLOB UNIQUE,            -- sha256 of the one-time code, cleared when used
    code_expires_at INTEGER,
    public_key      BLOB,                   -- raw Ed25519 key, set at provisioning
    created_at      INTEGER NOT NULL,
    provisioned_at  INTEGER,
    revoked_at      INTEGER,
    last_sync_at    INTEGER
);

CREATE TABLE nonces (
    device_id TEXT NOT NULL,
    nonce     TEXT NOT NULL,
    seen_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_seen ON nonces(seen_at);

-- The truth: one Automerge document per record.
CREATE TABLE docs (
    rid   INTEGER PRIMARY KEY,
    id    TEXT NOT NULL UNIQUE,
    kind  TEXT NOT NULL,
    ward  INTEGER NOT NULL,
    data  BLOB NOT NULL,
    heads TEXT NOT NULL                     -- JSON array of hex change hashes
);

-- Append-only change feed: what each push added, per ward.
CREATE TABLE feed (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    record_id   TEXT NOT NULL,
    ward        INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    changes     BLOB NOT NULL,
    heads       TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX feed_ward_seq ON feed(ward, seq);

-- Projection of the documents for queries.
CREATE TABLE residents (
    id             TEXT PRIMARY KEY,
    ward           INTEGER NOT NULL,
    household_id   TEXT,
    health_id      TEXT,
    given_name     TEXT,
    family_name    TEXT,
    name_hi        TEXT,
    sex            TEXT,
    birth_year     INTEGER,
    phone          TEXT,
    voter_id       TEXT,
    has_conflicts  INTEGER NOT NULL,
    enrolled_by    TEXT,
    updated_at     INTEGER NOT NULL,
    last_device_id TEXT
);
CREATE INDEX residents_ward ON residents(ward);
CREATE INDEX residents_health ON residents(health_id);

CREATE TABLE households (
    id             TEXT PRIMARY KEY,
    ward           INTEGER NOT NULL,
    house          TEXT,
    street         TEXT,
    locality       TEXT,
    head_id        TEXT,
    members        INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_device_id TEXT
);
CREATE INDEX households_ward ON households(ward);
