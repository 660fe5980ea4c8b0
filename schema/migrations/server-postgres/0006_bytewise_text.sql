-- Registry store (PostgreSQL), version 6: every text column compares as
-- bytes (COLLATE "C"). Never edited after release.
--
-- Until now text took the database's locale (en_IN.UTF-8, C.UTF-8, ...):
-- every comparison of two ids, keys, voter ids or hashes went through
-- strcoll, and PostgreSQL sorts such text without abbreviated keys. A roll
-- import's index builds and its inserts into primary keys spent most of
-- their time there. The registry's text is ids, codes and names that are
-- looked up, not sorted for reading: byte order is the right order, and it
-- is the order SQLite (BINARY) already keeps, so both stores now page and
-- sort alike. The console's name indexes were already COLLATE "C".
--
-- Every column changes at once: a comparison between two columns of two
-- different collations is an error. A later migration declares each new
-- text column COLLATE "C" (a test checks every column after migrating).
-- Indexes on these columns are rebuilt; no table is rewritten.
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN
        SELECT c.table_name,
               string_agg(format('ALTER COLUMN %I TYPE text COLLATE "C"', c.column_name), ', '
                          ORDER BY c.ordinal_position) AS alters
        FROM information_schema.columns c
        JOIN information_schema.tables tb
          ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
        WHERE c.table_schema = current_schema()
          AND tb.table_type = 'BASE TABLE'
          AND c.data_type = 'text'
          AND c.collation_name IS DISTINCT FROM 'C'
        GROUP BY c.table_name
        ORDER BY c.table_name
    LOOP
        EXECUTE format('ALTER TABLE %I %s', t.table_name, t.alters);
    END LOOP;
END;
$$;
