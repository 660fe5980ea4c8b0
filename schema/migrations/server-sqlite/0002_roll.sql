-- Registry store (SQLite), version 2: the electoral-roll import
-- (`ehcard-server import-roll`, schema/roll-csv.md). Never edited after release.

-- Where a resident stands (unverified roll row, verified, moved, ...) and
-- which record it was merged into: projections of the document like the rest.
ALTER TABLE residents ADD COLUMN status TEXT;
ALTER TABLE residents ADD COLUMN merged_into TEXT;

-- Each roll row imported, by EPIC number, so a re-import finds its record.
CREATE TABLE roll_entries (
    epic          TEXT PRIMARY KEY,
    record_id     TEXT NOT NULL,
    household_key TEXT NOT NULL,       -- ward|section|house, normalised
    row_hash      TEXT NOT NULL,       -- hash of the row's normalised values
    imported_at   INTEGER NOT NULL
) WITHOUT ROWID;

-- The household document made for each (ward, section, house).
CREATE TABLE roll_households (
    key          TEXT PRIMARY KEY,
    household_id TEXT NOT NULL
) WITHOUT ROWID;

-- How many roll residents were ever given an eHealth ID (the next one is
-- HealthId::registry(next_seq)).
CREATE TABLE roll_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL
);
INSERT INTO roll_state(id, next_seq) VALUES (1, 0);
