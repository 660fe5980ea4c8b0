-- Registry store (SQLite), version 3: duplicate matching, merges, and the
-- audit log. Never edited after release.

-- The matcher's view of each resident (JSON of ehcard_match::Person) and its
-- blocking keys: projections, written with the resident's other columns.
-- A record merged into another has neither.
CREATE TABLE match_people (
    record_id TEXT PRIMARY KEY,
    person    TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE match_keys (
    key       TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (key, record_id)
) WITHOUT ROWID;
CREATE INDEX match_keys_record ON match_keys(record_id);

-- Residents written since they were last indexed and compared (by a push,
-- an import or a merge), queued in the same transaction as the write with
-- the matcher's view of them. The background matcher moves them into
-- match_people / match_keys and compares them; a crash loses nothing.
CREATE TABLE match_queue (
    record_id TEXT PRIMARY KEY,
    queued_at INTEGER NOT NULL,             -- the record's updated_at: a newer write replaces the row
    person    TEXT,                     -- JSON; NULL: merged away, drop it from the index
    keys      TEXT NOT NULL             -- JSON array of blocking keys
);
CREATE INDEX match_queue_order ON match_queue(queued_at, record_id);

-- Candidate pairs (a < b) and what reviewers decided.
CREATE TABLE duplicate_pairs (
    a          TEXT NOT NULL,
    b          TEXT NOT NULL,
    score      REAL NOT NULL,
    reasons    TEXT NOT NULL,            -- JSON array of {code, detail}
    status     TEXT NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'merged', 'not_duplicate', 'superseded')),
    found_at   INTEGER NOT NULL,
    decided_at INTEGER,
    decided_by TEXT,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX duplicate_pairs_pending ON duplicate_pairs(score DESC) WHERE status = 'pending';
CREATE INDEX duplicate_pairs_b ON duplicate_pairs(b);

-- Every merge, with what it changed, so an administrator can undo it.
CREATE TABLE merges (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    survivor    TEXT NOT NULL,
    duplicate   TEXT NOT NULL,
    combination TEXT NOT NULL,           -- JSON (ehcard_core::combine::Combination)
    merged_at   INTEGER NOT NULL,
    merged_by   TEXT NOT NULL,
    undone_at   INTEGER,
    undone_by   TEXT
);
CREATE INDEX merges_duplicate ON merges(duplicate);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL                -- JSON
);
CREATE INDEX audit_subject ON audit(subject);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
