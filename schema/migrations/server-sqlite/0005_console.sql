-- Registry store (SQLite), version 5: the registry console (sessions, sign-in
-- throttling, card approvals). Never edited after release.

-- Signed-in staff. The cookie carries a random token; only its SHA-256 is
-- kept, so a copy of the database signs nobody in. The CSRF token is the
-- session's and goes in every form.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    staff      TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL          -- absolute end; idle expiry is last_seen + idle limit
);
CREATE INDEX console_sessions_staff ON console_sessions(staff);

-- Failed sign-ins, by account name and by client address, for throttling.
-- In the database, not in memory, so every server instance sees them.
CREATE TABLE login_failures (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    name   TEXT NOT NULL,
    client TEXT NOT NULL,
    at     INTEGER NOT NULL
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
    approved_at INTEGER NOT NULL,
    printed_at  INTEGER,
    printed_by  TEXT,
    print_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX card_approvals_unprinted ON card_approvals(approved_at) WHERE printed_at IS NULL;
