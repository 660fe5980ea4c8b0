-- Registry store (PostgreSQL), version 3: duplicate matching, merges, and
-- the audit log. Never edited after release.

-- The matcher's view of each resident (JSON of ehcard_match::Person) and its
-- blocking keys: projections, written with the resident's other columns.
-- A record merged into another has neither.
CREATE TABLE match_people (
    record_id TEXT PRIMARY KEY,
    person    TEXT NOT NULL
);
CREATE TABLE match_keys (
    key       TEXT NOT NULL,
    record_id TEXT NOT NULL,
    PRIMARY KEY (key, record_id)
);
CREATE INDEX match_keys_record ON match_keys(record_id);

-- Residents written since they were last indexed and compared (by a push,
-- an import or a merge), queued in the same transaction as the write with
-- the matcher's view of them. The background matcher moves them into
-- match_people / match_keys and compares them; a crash loses nothing.
CREATE TABLE match_queue (
    record_id TEXT PRIMARY KEY,
    queued_at BIGINT NOT NULL,             -- the record's updated_at: a newer write replaces the row
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
    found_at   BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    PRIMARY KEY (a, b)
);
CREATE INDEX duplicate_pairs_pending ON duplicate_pairs(score DESC) WHERE status = 'pending';
CREATE INDEX duplicate_pairs_b ON duplicate_pairs(b);

-- Every merge, with what it changed, so an administrator can undo it.
CREATE TABLE merges (
    id          BIGSERIAL PRIMARY KEY,
    survivor    TEXT NOT NULL,
    duplicate   TEXT NOT NULL,
    combination TEXT NOT NULL,           -- JSON (ehcard_core::combine::Combination)
    merged_at   BIGINT NOT NULL,
    merged_by   TEXT NOT NULL,
    undone_at   BIGINT,
    undone_by   TEXT
);
CREATE INDEX merges_duplicate ON merges(duplicate);

-- Append-only: rows are inserted, never updated or deleted.
CREATE TABLE audit (
    seq     BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL                -- JSON
);
CREATE INDEX audit_subject ON audit(subject);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
