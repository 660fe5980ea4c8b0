-- Device store, version 3: the electoral roll, merges and duplicate checks.
-- Projections only: `Store::open` rebuilds them from the documents after
-- this migration (the `reindex_needed` flag).

-- `unverified` rows come from the electoral roll; NULL: enrolled in the field.
ALTER TABLE residents ADD COLUMN status TEXT;
-- Set when the registry merged this record into another (the survivor).
ALTER TABLE residents ADD COLUMN merged_into TEXT;
ALTER TABLE residents ADD COLUMN relative_name TEXT;
CREATE INDEX residents_merged_into ON residents(merged_into) WHERE merged_into IS NOT NULL;

-- Blocking keys of the duplicate matcher (ehcard-match): a new resident is
-- compared only with the residents that share one of its keys.
CREATE TABLE match_keys (
    key TEXT NOT NULL,
    rid INTEGER NOT NULL,            -- residents.rid
    PRIMARY KEY (key, rid)
) WITHOUT ROWID;
CREATE INDEX match_keys_rid ON match_keys(rid);

INSERT INTO meta(key, value) VALUES ('reindex_needed', '1')
    ON CONFLICT(key) DO UPDATE SET value = excluded.value;
