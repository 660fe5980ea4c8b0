-- Registry store (PostgreSQL), version 7: two of the console's search
-- indexes cost a large roll import less. Never edited after release.
--
-- A large import builds the residents' indexes again (ADR 5), one after
-- the other in its transaction, so each index's build is part of every
-- import's time.
--
-- Phone numbers: only residents enrolled in the field have one. The index
-- holds those only; a search by phone (`phone = …`) implies `phone IS NOT
-- NULL`, so it still uses the index. An import keeps this index rather
-- than building it again: no roll row enters it.
DROP INDEX records_phone;
CREATE INDEX records_phone ON residents (phone) WHERE phone IS NOT NULL;

-- The last word of the Hindi name: `split_part(…, ' ', -1)` (PostgreSQL 14
-- or later) gives the same value as the regular expression it replaces,
-- `regexp_replace(name_hi, '^.* ', '')`, for every string (no space: the
-- whole name; a trailing space: empty), and builds in about two thirds of
-- the time. The console's search names the same expression.
DROP INDEX records_name_hi_last;
CREATE INDEX records_name_hi_last ON residents ((split_part(name_hi, ' ', -1) COLLATE "C"), id);
