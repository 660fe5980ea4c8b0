-- Registry store (PostgreSQL), version 5: the registry console (sessions, sign-in
-- throttling, card approvals). Never edited after release.

-- Signed-in staff. The cookie carries a random token; only its SHA-256 is
-- kept, so a copy of the database signs nobody in. The CSRF token is the
-- session's and goes in every form.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    staff      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL          -- absolute end; idle expiry is last_seen + idle limit
);
CREATE INDEX console_sessions_staff ON console_sessions(staff);

-- Failed sign-ins, by account name and by client address, for throttling.
-- In the database, not in memory, so every server instance sees them.
CREATE TABLE login_failures (
    id     BIGSERIAL PRIMARY KEY,
    name   TEXT NOT NULL,
    client TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX login_failures_name ON login_failures(name, at);
CREATE INDEX login_failures_client ON login_failures(client, at);

-- The audit log, filtered in the console by who and what.
CREATE INDEX audit_actor ON audit(actor, seq);
CREATE INDEX audit_action ON audit(action, seq);

-- Records approved for a permanent card (signed by the registry key), and
-- when they were last printed.
CREATE TABLE card_approvals (
    record_id   TEXT PRIMARY KEY,
    approved_by TEXT NOT NULL,
    approved_at BIGINT NOT NULL,
    printed_at  BIGINT,
    printed_by  TEXT,
    print_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX card_approvals_unprinted ON card_approvals(approved_at) WHERE printed_at IS NULL;

-- == dashboard ==
-- The dashboard's counts by ward, roll or field, status and conflicts, read
-- from this index alone, in its order (no resident rows are read).
CREATE INDEX residents_console ON residents(ward, enrolled_by, status, has_conflicts) WHERE merged_into IS NULL;
-- Residents enrolled in the field, by record id: ids are UUIDv7, so the
-- residents enrolled on a day are a range of ids (a roll import's are not in it).
CREATE INDEX residents_field_id ON residents(id) WHERE enrolled_by <> 'electoral-roll';
-- What tablets sent (not the registry's own roll and merge entries), by time.
CREATE INDEX feed_tablets_received ON feed(received_at) WHERE device_id <> 'registry';
-- Each pair's ward (its first resident's, when the pair was found), so pending
-- pairs are counted by ward without a lookup per pair. Set by the trigger:
-- whoever writes pairs need not know.
ALTER TABLE duplicate_pairs ADD COLUMN ward INTEGER;
UPDATE duplicate_pairs p SET ward = r.ward FROM residents r WHERE r.id = p.a;
CREATE FUNCTION duplicate_pair_ward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.ward := (SELECT ward FROM residents WHERE id = NEW.a);
    RETURN NEW;
END;
$$;
CREATE TRIGGER duplicate_pair_ward BEFORE INSERT ON duplicate_pairs
    FOR EACH ROW EXECUTE FUNCTION duplicate_pair_ward();
CREATE INDEX duplicate_pairs_pending_ward ON duplicate_pairs(ward) WHERE status = 'pending';

-- == Administration: roll uploads and the audit log ==
-- Roll uploads from the console, run as background jobs. Their state lives
-- here, not in the server's memory: any instance shows any job. A job whose
-- heartbeat stops (its server stopped) shows as interrupted.
CREATE TABLE roll_jobs (
    id           BIGSERIAL PRIMARY KEY,
    file_name    TEXT NOT NULL,
    file_bytes   BIGINT NOT NULL,
    file_sha256  TEXT NOT NULL,
    as_of        TEXT NOT NULL,            -- the extract's date, YYYY-MM-DD
    uploaded_by  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    instance     TEXT NOT NULL,            -- the server process running it
    state        TEXT NOT NULL CHECK (state IN ('running', 'rejected', 'failed', 'done')),
    phase        TEXT NOT NULL,            -- checking / importing / matching / finished
    done_rows    BIGINT NOT NULL DEFAULT 0,
    total_rows   BIGINT NOT NULL DEFAULT 0,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT,
    bad_rows     BIGINT NOT NULL DEFAULT 0,
    errors       TEXT NOT NULL DEFAULT '[]', -- JSON: the first bad rows' errors
    message      TEXT,                     -- why it failed
    summary      TEXT                      -- JSON: what the import did
);
-- The audit log by time (its date filter).
CREATE INDEX audit_at ON audit(at);

-- == search and record view ==
-- Search by name prefix in either script, phone, voter id; a ward's list;
-- a household's members; records merged into one; a record's history.
-- Name prefixes are range scans in code-point order (COLLATE "C"), so the
-- same index answers the range and the ORDER BY … LIMIT of a page.
CREATE INDEX records_given ON residents ((lower(given_name) COLLATE "C"), (lower(family_name) COLLATE "C"), id);
CREATE INDEX records_family ON residents ((lower(family_name) COLLATE "C"), (lower(given_name) COLLATE "C"), id);
CREATE INDEX records_name_hi ON residents ((name_hi COLLATE "C"), id);
-- The last word of the Hindi name (a family name typed in Devanagari).
CREATE INDEX records_name_hi_last ON residents ((regexp_replace(name_hi, '^.* ', '') COLLATE "C"), id);
CREATE INDEX records_phone ON residents (phone);
CREATE INDEX records_voter ON residents ((voter_id COLLATE "C"));
CREATE INDEX records_ward_name ON residents (ward, (lower(given_name) COLLATE "C"), (lower(family_name) COLLATE "C"), id);
CREATE INDEX records_household ON residents (household_id);
CREATE INDEX records_merged_into ON residents (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX records_feed ON feed (record_id, seq);

-- == review: duplicate queue and card approvals ==
-- Residents who may get a permanent card now (not merged away, no
-- conflicts, an eHealth ID, verified or enrolled in the field), by ward and
-- id: the approval list pages through them by id.
CREATE INDEX residents_card_ready ON residents(ward, id)
    WHERE merged_into IS NULL AND has_conflicts = FALSE AND health_id IS NOT NULL
      AND (status IS NULL OR status = 'verified');
-- Printed cards, newest first.
CREATE INDEX card_approvals_printed ON card_approvals(printed_at) WHERE printed_at IS NOT NULL;
