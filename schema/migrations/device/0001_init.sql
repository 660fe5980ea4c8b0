-- Device store, version 1. Applied inside one transaction; never edited
-- after release: later changes are new files.
--
-- `docs` holds the truth: one Automerge document per record. Every other
-- table is a projection that `ehcard reindex` rebuilds from `docs`.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- A rowid table: documents are appended in the order they are written, and
-- only the small id index takes random inserts.
CREATE TABLE docs (
    rid  INTEGER PRIMARY KEY,
    id   TEXT NOT NULL UNIQUE,      -- record id (UUIDv7)
    kind TEXT NOT NULL CHECK (kind IN ('resident', 'household')),
    data BLOB NOT NULL              -- saved Automerge document
);

CREATE TABLE residents (
    rid           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    household_id  TEXT,
    health_id     TEXT,             -- 12 digits, no spaces
    given_name    TEXT NOT NULL,
    family_name   TEXT,
    name_hi       TEXT,
    sex           TEXT,
    date_of_birth TEXT,
    birth_year    INTEGER,
    phone         TEXT,
    voter_id      TEXT,
    ward          INTEGER,
    relation      TEXT,
    has_conflicts INTEGER NOT NULL DEFAULT 0,
    enrolled_at   INTEGER NOT NULL, -- ms since the epoch
    updated_at    INTEGER NOT NULL
);
CREATE INDEX residents_health_id ON residents(health_id) WHERE health_id IS NOT NULL;
CREATE INDEX residents_phone ON residents(phone) WHERE phone IS NOT NULL;
CREATE INDEX residents_voter_id ON residents(voter_id) WHERE voter_id IS NOT NULL;
CREATE INDEX residents_household ON residents(household_id);
CREATE INDEX residents_ward ON residents(ward);

CREATE VIRTUAL TABLE residents_fts USING fts5(
    given_name, family_name, name_hi,
    content = 'residents', content_rowid = 'rid',
    -- Marks (M*) are part of words: Devanagari vowel signs and the virama
    -- must not split a name into fragments.
    tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);
CREATE TRIGGER residents_ai AFTER INSERT ON residents BEGIN
    INSERT INTO residents_fts(rowid, given_name, family_name, name_hi)
    VALUES (new.rid, new.given_name, new.family_name, new.name_hi);
END;
CREATE TRIGGER residents_ad AFTER DELETE ON residents BEGIN
    INSERT INTO residents_fts(residents_fts, rowid, given_name, family_name, name_hi)
    VALUES ('delete', old.rid, old.given_name, old.family_name, old.name_hi);
END;
CREATE TRIGGER residents_au AFTER UPDATE OF given_name, family_name, name_hi ON residents BEGIN
    INSERT INTO residents_fts(residents_fts, rowid, given_name, family_name, name_hi)
    VALUES ('delete', old.rid, old.given_name, old.family_name, old.name_hi);
    INSERT INTO residents_fts(rowid, given_name, family_name, name_hi)
    VALUES (new.rid, new.given_name, new.family_name, new.name_hi);
END;

CREATE TABLE households (
    rid          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    ward         INTEGER,
    house        TEXT,
    street       TEXT,
    locality     TEXT,
    head_id      TEXT,
    member_count INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX households_ward ON households(ward, locality, street, house);
