-- Registry store (PostgreSQL), version 1. Never edited after release.
CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    number          INTEGER NOT NULL UNIQUE,
    label           TEXT NOT NULL,
    wards           INTEGER[] NOT NULL,
    code_hash       BYTEA UNIQUE,
    code_expires_at BIGINT,
    public_key      BYTEA,
    created_at      BIGINT NOT NULL,
    provisioned_at  BIGINT,
    revoked_at      BIGINT,
    last_sync_at    BIGINT
);
CREATE SEQUENCE device_numbers START 1;

CREATE TABLE nonces (
    device_id TEXT NOT NULL,
    nonce     TEXT NOT NULL,
    seen_at   BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_seen ON nonces(seen_at);

CREATE TABLE docs (
    id    TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    ward  INTEGER NOT NULL,
    data  BYTEA NOT NULL,
    heads TEXT NOT NULL              -- JSON array of hex change hashes
);

CREATE TABLE feed (
    seq         BIGSERIAL PRIMARY KEY,
    record_id   TEXT NOT NULL,
    ward        INTEGER NOT NULL,
    device_id   TEXT NOT NULL,
    changes     BYTEA NOT NULL,
    heads       TEXT NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX feed_ward_seq ON feed(ward, seq);

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
    has_conflicts  BOOLEAN NOT NULL,
    enrolled_by    TEXT,
    updated_at     BIGINT NOT NULL,
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
    updated_at     BIGINT NOT NULL,
    last_device_id TEXT
);
CREATE INDEX households_ward ON households(ward);
