-- Registry store (SQLite), version 6: the phone index holds only the
-- residents that have a phone number. Never edited after release.
--
-- Only residents enrolled in the field have one. A search by phone
-- (`phone = …`) implies `phone IS NOT NULL`, so it still uses the index;
-- a large roll import keeps this index rather than building it again (no
-- roll row enters it, ADR 5).
DROP INDEX records_phone;
CREATE INDEX records_phone ON residents(phone) WHERE phone IS NOT NULL;
