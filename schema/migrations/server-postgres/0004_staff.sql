-- Registry store (PostgreSQL), version 4: staff accounts for the console.
-- Never edited after release.
CREATE TABLE staff (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'reviewer', 'viewer')),
    password_hash TEXT NOT NULL,       -- Argon2id PHC string (salt and parameters inside)
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);
