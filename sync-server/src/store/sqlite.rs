//! The registry on SQLite: the embedded default for a laptop, a demo or a
//! single ward office. One connection behind a mutex; the work runs on
//! tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ehcard_sync::wire::PullEntry;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Statement, ToSql, Transaction, params};

use ehcard_match::Person;

use crate::dedup::{self, AuditEntry, MergeRow, NewAudit, NewPair, PairRow, Queued};
use crate::roll::{self, ImportOptions, KnownEntry, RollRow, Summary};
use crate::staff::Staff;

use super::{
    Device, DeviceStats, Document, NewDevice, Projection, PullPage, PushItem, PushOutcome, RegistryStore, Stats,
    StoreError, Write, merge_batch, plan_writes, sqlite_dedup,
};

pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../schema/migrations/server-sqlite/0001_registry.sql"),
    include_str!("../../../schema/migrations/server-sqlite/0002_roll.sql"),
    include_str!("../../../schema/migrations/server-sqlite/0003_duplicates.sql"),
    include_str!("../../../schema/migrations/server-sqlite/0004_staff.sql"),
    include_str!("../../../schema/migrations/server-sqlite/0005_console.sql"),
    include_str!("../../../schema/migrations/server-sqlite/0006_lean_indexes.sql"),
];

/// Bytes a page of a new registry database: twice SQLite's default. A
/// record's document is about 700 bytes; larger pages mean fewer pages,
/// B-tree levels and log frames for the same rows (a roll import ran about
/// 8% faster than with 4 KiB pages, ADR 5). A database made with another
/// size keeps it.
const PAGE_SIZE: u32 = 8192;
/// The page cache of the registry's connection, in KiB.
const CACHE_KIB: u32 = 64 * 1024;
/// The page cache while a roll import runs, in KiB: a large extract's
/// pages stay in memory until it commits.
const IMPORT_CACHE_KIB: u32 = 1024 * 1024;
/// SQLite's automatic checkpoint threshold, in log pages (its default).
const WAL_AUTOCHECKPOINT: u32 = 1000;

pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
    /// Checkpoints running on connections of their own after large writes.
    checkpoints: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(format!("{}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path)?;
        // The page size applies to a new database only (before its first
        // table), and must come before WAL mode.
        conn.execute_batch(&format!(
            "PRAGMA page_size = {PAGE_SIZE}; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -{CACHE_KIB};"
        ))?;
        // Writer, Insert and the import hold more statements than
        // rusqlite's default cache of 16: a push or an import chunk would
        // prepare some again each time.
        conn.set_prepared_statement_cache_capacity(64);
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        Ok(SqliteStore { conn: Arc::new(Mutex::new(conn)), path: path.to_path_buf(), checkpoints: Mutex::default() })
    }

    /// Copy the write-ahead log into the database file on a connection of
    /// its own, so the next write does not wait for it. A large import
    /// leaves its pages in the log (it is durable there); SQLite would copy
    /// them at once, in the importing call, had the import not switched its
    /// automatic checkpoint off. Writers go on meanwhile (a checkpoint and
    /// one writer run together in WAL mode); the next automatic checkpoint
    /// finds this one running and skips. A failure is logged: the log stays
    /// valid and a later checkpoint copies it.
    fn checkpoint_in_background(&self) {
        let path = self.path.clone();
        let handle = std::thread::spawn(move || {
            let copied = Connection::open(&path).and_then(|c| {
                c.busy_timeout(std::time::Duration::from_secs(30))?;
                c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
            });
            match copied {
                Ok((log, done)) => tracing::debug!(log, done, "checkpoint after a large write"),
                Err(e) => {
                    tracing::warn!(error = %e, "checkpoint after a large write failed; a later one copies the log")
                }
            }
        });
        if let Ok(mut running) = self.checkpoints.lock() {
            running.retain(|h| !h.is_finished());
            running.push(handle);
        }
    }

    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().map_err(|_| StoreError::Database("a previous request crashed".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Database(format!("worker: {e}")))?
    }
}

impl Drop for SqliteStore {
    /// A checkpoint still running finishes first, so a command that made a
    /// large write leaves the database file whole and the log short.
    fn drop(&mut self) {
        if let Ok(mut running) = self.checkpoints.lock() {
            for h in running.drain(..) {
                let _ = h.join();
            }
        }
    }
}

fn device_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Device> {
    let wards: String = r.get(3)?;
    Ok(Device {
        id: r.get(0)?,
        number: r.get(1)?,
        label: r.get(2)?,
        wards: serde_json::from_str(&wards).unwrap_or_default(),
        public_key: r.get(4)?,
        created_at: r.get(5)?,
        provisioned_at: r.get(6)?,
        revoked_at: r.get(7)?,
        last_sync_at: r.get(8)?,
        code_expires_at: r.get(9)?,
    })
}

const DEVICE_COLS: &str =
    "id, number, label, wards, public_key, created_at, provisioned_at, revoked_at, last_sync_at, code_expires_at";

fn get_device(conn: &Connection, id: &str) -> Result<Option<Device>, StoreError> {
    Ok(conn.query_row(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = ?1"), [id], device_row).optional()?)
}

fn today(now: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(now, 0).unwrap_or_default().date_naive()
}

/// Rows one multi-row `INSERT` writes: a statement's start (its cursors
/// on the table and its indexes) and finish are paid once for this many
/// rows rather than once a row.
const ROWS_PER_INSERT: usize = 32;

/// One table's `INSERT`, prepared for one row and for [`ROWS_PER_INSERT`]
/// rows.
struct Insert<'c> {
    one: CachedStatement<'c>,
    many: CachedStatement<'c>,
    /// Values a row.
    width: usize,
}

impl<'c> Insert<'c> {
    /// `into`: `INSERT INTO table(columns…)`, `width` values a row; `tail`
    /// follows the rows (an `ON CONFLICT` clause, or nothing).
    fn new(conn: &'c Connection, into: &str, width: usize, tail: &str) -> Result<Self, StoreError> {
        let row = format!("({})", vec!["?"; width].join(", "));
        let sql = |rows: usize| format!("{into} VALUES {} {tail}", vec![row.as_str(); rows].join(", "));
        let insert =
            Insert { one: conn.prepare_cached(&sql(1))?, many: conn.prepare_cached(&sql(ROWS_PER_INSERT))?, width };
        debug_assert_eq!(insert.many.parameter_count(), width * ROWS_PER_INSERT);
        Ok(insert)
    }

    /// Insert a row for each item, in order. `bind` binds an item's
    /// `width` values to the statement from parameter `at` (zero-based) on.
    fn rows<T>(
        &mut self,
        items: &[T],
        bind: impl Fn(&mut Statement<'_>, usize, &T) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut groups = items.chunks_exact(ROWS_PER_INSERT);
        for group in groups.by_ref() {
            for (k, item) in group.iter().enumerate() {
                bind(&mut self.many, k * self.width, item)?;
            }
            self.many.raw_execute()?;
        }
        for item in groups.remainder() {
            bind(&mut self.one, 0, item)?;
            self.one.raw_execute()?;
        }
        Ok(())
    }
}

/// Bind `values` to a statement's parameters from `at` (zero-based) on.
fn bind(st: &mut Statement<'_>, at: usize, values: &[&dyn ToSql]) -> rusqlite::Result<()> {
    for (i, v) in values.iter().enumerate() {
        st.raw_bind_parameter(at + i + 1, v)?;
    }
    Ok(())
}

/// The statements that write documents, feed entries and query rows,
/// prepared once for a batch of writes rather than looked up by their text
/// for every row.
struct Writer<'c> {
    /// Pushes upsert every document; the registry's own writes insert new
    /// documents (an id already taken is an error, not an overwrite) and
    /// update the ones they changed.
    upsert: bool,
    docs: Insert<'c>,
    update_doc: CachedStatement<'c>,
    feed: Insert<'c>,
    residents: Insert<'c>,
    households: Insert<'c>,
    queue: Insert<'c>,
}

impl<'c> Writer<'c> {
    fn new(conn: &'c Connection, upsert: bool) -> Result<Self, StoreError> {
        let docs_tail = if upsert {
            "ON CONFLICT(id) DO UPDATE SET ward = excluded.ward, data = excluded.data, heads = excluded.heads"
        } else {
            ""
        };
        Ok(Writer {
            upsert,
            docs: Insert::new(conn, "INSERT INTO docs(id, kind, ward, data, heads)", 5, docs_tail)?,
            update_doc: conn.prepare_cached("UPDATE docs SET ward = ?2, data = ?3, heads = ?4 WHERE id = ?1")?,
            feed: Insert::new(
                conn,
                "INSERT INTO feed(record_id, ward, device_id, changes, heads, received_at)",
                6,
                "",
            )?,
            residents: Insert::new(
                conn,
                "INSERT INTO residents(id, ward, household_id, health_id, given_name, family_name, name_hi, sex,
                    birth_year, phone, voter_id, has_conflicts, enrolled_by, updated_at, last_device_id, status,
                    merged_into)",
                17,
                "ON CONFLICT(id) DO UPDATE SET ward = excluded.ward, household_id = excluded.household_id,
                    health_id = excluded.health_id, given_name = excluded.given_name,
                    family_name = excluded.family_name, name_hi = excluded.name_hi, sex = excluded.sex,
                    birth_year = excluded.birth_year, phone = excluded.phone, voter_id = excluded.voter_id,
                    has_conflicts = excluded.has_conflicts, enrolled_by = excluded.enrolled_by,
                    updated_at = excluded.updated_at, last_device_id = excluded.last_device_id,
                    status = excluded.status, merged_into = excluded.merged_into",
            )?,
            households: Insert::new(
                conn,
                "INSERT INTO households(id, ward, house, street, locality, head_id, members, updated_at,
                    last_device_id)",
                9,
                "ON CONFLICT(id) DO UPDATE SET ward = excluded.ward, house = excluded.house, street = excluded.street,
                    locality = excluded.locality, head_id = excluded.head_id, members = excluded.members,
                    updated_at = excluded.updated_at, last_device_id = excluded.last_device_id",
            )?,
            queue: Insert::new(conn, sqlite_dedup::QUEUE_INTO, 4, sqlite_dedup::QUEUE_CONFLICT)?,
        })
    }

    /// Writes' documents, feed entries (in the writes' order) and query
    /// rows (with residents' places in the match queue), attributed to
    /// `device`.
    fn write(&mut self, writes: &[Write], device: &str, now: i64) -> Result<(), StoreError> {
        let documents: Vec<Document<'_>> = writes.iter().map(Document::of_write).collect();
        self.documents(&documents, device, now)?;
        let rows: Vec<(&str, &Projection)> = writes.iter().map(|w| (w.id.as_str(), &*w.projection)).collect();
        self.rows(&rows, device)
    }

    /// Documents and their feed entries, in order.
    fn documents(&mut self, documents: &[Document<'_>], device: &str, now: i64) -> Result<(), StoreError> {
        let upsert = self.upsert;
        let (inserted, updated): (Vec<&Document>, Vec<&Document>) = documents.iter().partition(|d| upsert || d.created);
        self.docs.rows(&inserted, |st, at, d| bind(st, at, params![d.id, d.kind.as_str(), d.ward, d.doc, d.heads]))?;
        for d in updated {
            self.update_doc.execute(params![d.id, d.ward, d.doc, d.heads])?;
        }
        self.feed.rows(documents, |st, at, d| bind(st, at, params![d.id, d.ward, device, d.changes, d.heads, now]))
    }

    /// Records' query rows, and residents' places in the match queue.
    fn rows(&mut self, rows: &[(&str, &Projection)], device: &str) -> Result<(), StoreError> {
        let (residents, households): (Vec<_>, Vec<_>) =
            rows.iter().partition(|(_, p)| p.kind == ehcard_core::RecordKind::Resident);
        self.residents.rows(&residents, |st, at, (id, p)| {
            bind(
                st,
                at,
                params![
                    id,
                    p.ward,
                    p.household_id,
                    p.health_id,
                    p.given_name,
                    p.family_name,
                    p.name_hi,
                    p.sex,
                    p.birth_year,
                    p.phone,
                    p.voter_id,
                    p.has_conflicts,
                    p.enrolled_by,
                    p.updated_at,
                    device,
                    p.status,
                    p.merged_into
                ],
            )
        })?;
        self.queue.rows(&residents, |st, at, (id, p)| {
            let (person, keys) = p.queue_row();
            bind(st, at, params![id, p.updated_at, person, keys])
        })?;
        self.households.rows(&households, |st, at, (id, p)| {
            bind(st, at, params![id, p.ward, p.house, p.street, p.locality, p.head_id, p.members, p.updated_at, device])
        })
    }
}

/// Write the registry's own changes (roll import, merges): documents,
/// feed entries attributed to the registry, projections.
pub(super) fn write_registry(tx: &Transaction<'_>, writes: &[Write], now: i64) -> Result<(), StoreError> {
    Writer::new(tx, false)?.write(writes, dedup::FEED_DEVICE, now)
}

/// Write a planned merge in the caller's transaction: the documents, the
/// merge row (what undo needs), the pair decided and the duplicate's other
/// pairs superseded. The caller audits it.
pub(super) fn write_merge(
    tx: &Transaction<'_>,
    survivor: &str,
    duplicate: &str,
    writes: &[Write],
    combination: ehcard_core::combine::Combination,
    by: &str,
    now: i64,
) -> Result<MergeRow, StoreError> {
    write_registry(tx, writes, now)?;
    let mut row = MergeRow {
        id: 0,
        survivor: survivor.to_string(),
        duplicate: duplicate.to_string(),
        combination,
        merged_at: now,
        merged_by: by.to_string(),
        undone_at: None,
        undone_by: None,
    };
    row.id = sqlite_dedup::insert_merge(tx, &row)?;
    sqlite_dedup::decide(tx, survivor, duplicate, "merged", by, now)?;
    sqlite_dedup::supersede(tx, duplicate, by, now)?;
    Ok(row)
}

/// A roll import in one transaction (see [`RegistryStore::import_roll`]).
fn import_roll_in(
    conn: &mut Connection,
    rows: Vec<RollRow>,
    mut options: ImportOptions,
) -> Result<Summary, StoreError> {
    let tx = conn.transaction()?;
    let total_entries = tx.query_row("SELECT count(*) FROM roll_entries", [], |r| r.get::<_, i64>(0))? as u64;
    let mut known = roll::Known { total_entries, ..roll::Known::default() };
    // A first extract has nothing to look up row by row.
    if known.total_entries > 0 {
        let mut entry =
            tx.prepare_cached("SELECT record_id, household_key, row_hash FROM roll_entries WHERE epic = ?1")?;
        for row in &rows {
            let found = entry
                .query_row([&row.epic], |r| {
                    Ok(KnownEntry { record_id: r.get(0)?, household_key: r.get(1)?, row_hash: r.get(2)? })
                })
                .optional()?;
            if let Some(e) = found {
                known.entries.insert(row.epic.clone(), e);
            }
        }
    }
    if tx.query_row("SELECT EXISTS (SELECT 1 FROM roll_households)", [], |r| r.get::<_, bool>(0))? {
        let mut household = tx.prepare_cached("SELECT household_id FROM roll_households WHERE key = ?1")?;
        for key in roll::household_keys(&rows, &known.entries) {
            if let Some(id) = household.query_row([&key], |r| r.get::<_, String>(0)).optional()? {
                known.households.insert(key, id);
            }
        }
    }
    known.next_seq = tx.query_row("SELECT next_seq FROM roll_state WHERE id = 1", [], |r| r.get::<_, i64>(0))? as u64;
    let mut docs = std::collections::HashMap::new();
    {
        let mut select = tx.prepare_cached("SELECT data FROM docs WHERE id = ?1")?;
        for id in roll::docs_needed(&rows, &known) {
            if let Some(data) = select.query_row([&id], |r| r.get::<_, Vec<u8>>(0)).optional()? {
                docs.insert(id, data);
            }
        }
    }
    let mut plan = roll::plan(&rows, &known, &docs, &mut options)?;
    let now = options.now.timestamp();
    let total = plan.writes() as u64;
    let entries = std::mem::take(&mut plan.entries);
    let households = std::mem::take(&mut plan.households);
    let (next_seq, summary) = (plan.next_seq, plan.summary.clone());
    // Documents are never deleted: the largest row id counts them.
    let existing = tx.query_row("SELECT coalesce(max(rid), 0) FROM docs", [], |r| r.get::<_, i64>(0))?;
    if roll::rebuild_indexes(options.indexes, total, existing as u64) {
        // The query rows first, then their indexes while the documents
        // are encoded, then the documents and the feed's indexes.
        let dropped = drop_secondary_indexes(&tx, &roll::BULK_TABLES)?;
        let stages = roll::Stages::new(options.progress.as_ref(), total, dropped.len());
        let (feed_indexes, row_indexes): (Vec<_>, Vec<_>) = dropped.into_iter().partition(|(table, _)| table == "feed");
        plan.build_in_passes(
            &mut |chunk| {
                let rows: Vec<(&str, &Projection)> = chunk.iter().map(|(id, p)| (id.as_str(), p)).collect();
                Writer::new(&tx, false)?.rows(&rows, dedup::FEED_DEVICE)?;
                stages.written("writing", chunk.len());
                Ok(())
            },
            &mut || {
                stages.next_pass();
                build_indexes(&tx, &row_indexes, &stages)
            },
            &mut |chunk| {
                let documents: Vec<Document<'_>> = chunk.iter().map(Document::of_document).collect();
                Writer::new(&tx, false)?.documents(&documents, dedup::FEED_DEVICE, now)?;
                stages.written("documents", chunk.len());
                Ok(())
            },
        )?;
        build_indexes(&tx, &feed_indexes, &stages)?;
    } else {
        let stages = roll::Stages::new(options.progress.as_ref(), total, 0);
        plan.build(&mut |chunk| {
            write_registry(&tx, &chunk, now)?;
            stages.written("writing", chunk.len());
            Ok(())
        })?;
    }
    if let Some(progress) = &options.progress {
        progress("recording", 0, entries.len() as u64);
    }
    {
        let mut entry = tx.prepare_cached(
            "INSERT INTO roll_entries(epic, record_id, household_key, row_hash, imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(epic) DO UPDATE SET record_id = excluded.record_id,
                household_key = excluded.household_key, row_hash = excluded.row_hash,
                imported_at = excluded.imported_at",
        )?;
        for e in &entries {
            entry.execute(params![e.epic, e.record_id, e.household_key, e.row_hash, now])?;
        }
        let mut household = tx.prepare_cached("INSERT INTO roll_households(key, household_id) VALUES (?1, ?2)")?;
        for (key, id) in &households {
            household.execute(params![key, id])?;
        }
    }
    tx.execute("UPDATE roll_state SET next_seq = ?1 WHERE id = 1", [next_seq as i64])?;
    if let Some(progress) = &options.progress {
        progress("committing", 0, 1);
    }
    tx.commit()?;
    Ok(summary)
}

/// Drop the secondary indexes of `tables` in the caller's transaction and
/// return each one's table and the statement that makes it again, for a
/// bulk write that builds them again ([`build_indexes`]) before it commits.
/// Indexes that enforce uniqueness stay, and so do
/// [`roll::UNTOUCHED_INDEXES`]. The migrations remain the one
/// definition of each index: the statements are SQLite's own record of
/// them.
fn drop_secondary_indexes(tx: &Transaction<'_>, tables: &[&str]) -> Result<Vec<(String, String)>, StoreError> {
    let tables = serde_json::to_string(tables).unwrap_or_else(|_| "[]".into());
    let kept = serde_json::to_string(&roll::UNTOUCHED_INDEXES).unwrap_or_else(|_| "[]".into());
    let mut st = tx.prepare(
        "SELECT name, tbl_name, sql FROM sqlite_schema
         WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'
           AND tbl_name IN (SELECT value FROM json_each(?1))
           AND name NOT IN (SELECT value FROM json_each(?2))
         ORDER BY name",
    )?;
    let indexes = st
        .query_map([tables, kept], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut made = Vec::with_capacity(indexes.len());
    for (name, table, sql) in indexes {
        tx.execute_batch(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\"")))?;
        made.push((table, sql));
    }
    Ok(made)
}

/// Dropped indexes built again, (table, statement), one group of them.
fn build_indexes(tx: &Transaction<'_>, indexes: &[(String, String)], stages: &roll::Stages) -> Result<(), StoreError> {
    for (_, sql) in indexes {
        stages.indexing();
        tx.execute_batch(sql)?;
    }
    Ok(())
}

pub(super) fn resident_doc(tx: &Transaction<'_>, id: &str) -> Result<Vec<u8>, StoreError> {
    tx.query_row("SELECT data FROM docs WHERE id = ?1 AND kind = 'resident'", [id], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .ok_or_else(|| StoreError::NoRecord(id.to_string()))
}

#[async_trait::async_trait]
impl RegistryStore for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        self.run(|conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version > MIGRATIONS.len() as i64 {
                return Err(StoreError::TooNew(version));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
                let tx = conn.transaction()?;
                tx.execute_batch(sql)?;
                tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
                tx.commit()?;
            }
            Ok(())
        })
        .await
    }

    async fn add_device(&self, new: NewDevice) -> Result<Device, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let number: u32 = tx.query_row("SELECT coalesce(max(number), 0) + 1 FROM devices", [], |r| r.get(0))?;
            if number >= *ehcard_core::ids::REGISTRY_DEVICES.start() {
                return Err(StoreError::NoDeviceNumbers);
            }
            tx.execute(
                "INSERT INTO devices(id, number, label, wards, code_hash, code_expires_at, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    new.id,
                    number,
                    new.label,
                    serde_json::to_string(&new.wards).unwrap_or_default(),
                    new.code_hash,
                    new.code_expires_at,
                    new.now
                ],
            )?;
            let d = get_device(&tx, &new.id)?.ok_or_else(|| StoreError::NoDevice(new.id.clone()))?;
            tx.commit()?;
            Ok(d)
        })
        .await
    }

    async fn redeem_code(&self, code_hash: &[u8], public_key: &[u8], now: i64) -> Result<Device, StoreError> {
        let (code_hash, public_key) = (code_hash.to_vec(), public_key.to_vec());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let found: Option<(String, Option<i64>, Option<i64>)> = tx
                .query_row(
                    "SELECT id, code_expires_at, revoked_at FROM devices WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((id, expires, revoked)) = found else { return Err(StoreError::UnknownCode) };
            if revoked.is_some() {
                return Err(StoreError::UnknownCode);
            }
            if expires.is_some_and(|e| e < now) {
                return Err(StoreError::CodeExpired);
            }
            tx.execute(
                "UPDATE devices SET public_key = ?2, provisioned_at = ?3, code_hash = NULL, code_expires_at = NULL
                 WHERE id = ?1",
                params![id, public_key, now],
            )?;
            let d = get_device(&tx, &id)?.ok_or(StoreError::UnknownCode)?;
            sqlite_dedup::audit(&tx, &super::provision_audit(&d, now))?;
            tx.commit()?;
            Ok(d)
        })
        .await
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| get_device(conn, &id)).await
    }

    async fn devices(&self) -> Result<Vec<Device>, StoreError> {
        self.run(|conn| {
            let mut stmt = conn.prepare(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY number"))?;
            let rows = stmt.query_map([], device_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn revoke_device(&self, id: &str, now: i64) -> Result<Device, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let n = conn.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2), code_hash = NULL WHERE id = ?1",
                params![id, now],
            )?;
            if n == 0 {
                return Err(StoreError::NoDevice(id));
            }
            get_device(conn, &id)?.ok_or(StoreError::NoDevice(id))
        })
        .await
    }

    async fn remember_nonce(&self, device: &str, nonce: &str, now: i64) -> Result<bool, StoreError> {
        let (device, nonce) = (device.to_string(), nonce.to_string());
        self.run(move |conn| {
            conn.execute("DELETE FROM nonces WHERE seen_at < ?1", [now - 2 * ehcard_sync::auth::MAX_SKEW_SECS])?;
            let n = conn.execute(
                "INSERT INTO nonces(device_id, nonce, seen_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                params![device, nonce, now],
            )?;
            Ok(n == 1)
        })
        .await
    }

    async fn push(&self, device: &Device, items: Vec<PushItem>, now: i64) -> Result<Vec<PushOutcome>, StoreError> {
        let device = device.clone();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let mut existing = Vec::with_capacity(items.len());
            {
                let mut select = tx.prepare_cached("SELECT data, ward FROM docs WHERE id = ?1")?;
                for item in &items {
                    existing.push(select.query_row([&item.id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?);
                }
            }
            let steps = merge_batch(existing, &items, &device, today(now))?;
            let (out, writes) = plan_writes(&items, steps);
            Writer::new(&tx, true)?.write(&writes, &device.id, now)?;
            tx.execute("UPDATE devices SET last_sync_at = ?2 WHERE id = ?1", params![device.id, now])?;
            if let Some(a) = super::push_audit(&device, items.len(), &writes, now) {
                sqlite_dedup::audit(&tx, &a)?;
            }
            tx.commit()?;
            Ok(out)
        })
        .await
    }

    async fn pull(&self, device: &Device, cursor: i64, limit: u32, now: i64) -> Result<PullPage, StoreError> {
        let device = device.clone();
        let limit = limit.clamp(1, 5000);
        self.run(move |conn| {
            let wards = serde_json::to_string(&device.wards).unwrap_or_else(|_| "[]".into());
            // An entry without bytes reads its record's document (see
            // `entry_changes`).
            let mut stmt = conn.prepare_cached(
                "SELECT f.seq, f.record_id, f.changes, f.heads, d.data, d.heads FROM feed f
                 LEFT JOIN docs d ON length(f.changes) = 0 AND d.id = f.record_id
                 WHERE f.seq > ?1 AND f.ward IN (SELECT value FROM json_each(?2)) AND f.device_id <> ?3
                 ORDER BY f.seq LIMIT ?4",
            )?;
            let mut rows = stmt.query(params![cursor, wards, device.id, i64::from(limit) + 1])?;
            let mut entries = Vec::new();
            while let Some(r) = rows.next()? {
                let (id, heads): (String, String) = (r.get(1)?, r.get(3)?);
                let doc_heads: Option<String> = r.get(5)?;
                let changes = super::entry_changes(&id, r.get(2)?, &heads, r.get(4)?, doc_heads.as_deref())?;
                entries.push(PullEntry {
                    seq: r.get(0)?,
                    id,
                    changes,
                    heads: serde_json::from_str(&heads).unwrap_or_default(),
                });
            }
            let more = entries.len() > limit as usize;
            entries.truncate(limit as usize);
            let next = entries.last().map(|e| e.seq).unwrap_or(cursor);
            drop(rows);
            drop(stmt);
            conn.execute("UPDATE devices SET last_sync_at = ?2 WHERE id = ?1", params![device.id, now])?;
            Ok(PullPage { entries, cursor: next, more })
        })
        .await
    }

    async fn record(&self, id: &str) -> Result<Option<(Vec<u8>, Vec<String>, i64)>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let row: Option<(Vec<u8>, String, i64)> = conn
                .query_row("SELECT data, heads, ward FROM docs WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            Ok(row.map(|(d, h, w)| (d, serde_json::from_str(&h).unwrap_or_default(), w)))
        })
        .await
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        self.run(|conn| {
            let count = |sql: &str| -> Result<i64, StoreError> { Ok(conn.query_row(sql, [], |r| r.get(0))?) };
            let mut s = Stats {
                residents: count("SELECT count(*) FROM residents")?,
                households: count("SELECT count(*) FROM households")?,
                with_conflicts: count("SELECT count(*) FROM residents WHERE has_conflicts")?,
                feed_entries: count("SELECT count(*) FROM feed")?,
                ..Stats::default()
            };
            let mut stmt = conn.prepare("SELECT ward, count(*) FROM residents GROUP BY ward")?;
            for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
                let (w, c) = row?;
                s.residents_by_ward.insert(w, c);
            }
            let mut stmt = conn.prepare(&format!(
                "SELECT {DEVICE_COLS}, (SELECT count(*) FROM residents r WHERE r.last_device_id = d.id)
                 FROM devices d ORDER BY number"
            ))?;
            for row in stmt.query_map([], |r| Ok((device_row(r)?, r.get::<_, i64>(10)?)))? {
                let (d, n) = row?;
                s.devices.push(DeviceStats {
                    status: d.status().to_string(),
                    id: d.id,
                    number: d.number,
                    label: d.label,
                    wards: d.wards,
                    records_last_changed: n,
                    last_sync_at: d.last_sync_at,
                });
            }
            Ok(s)
        })
        .await
    }

    async fn import_roll(&self, rows: Vec<RollRow>, options: ImportOptions) -> Result<Summary, StoreError> {
        let imported = self.run(move |conn| {
            // A large import keeps its pages in memory rather than spilling
            // them to the log mid-transaction, and sorts index keys on two
            // threads; the connection goes back to its usual cache after.
            // Its commit leaves the pages in the log for a checkpoint of its
            // own (below) rather than copying them before it returns.
            conn.execute_batch(&format!(
                "PRAGMA cache_size = -{IMPORT_CACHE_KIB}; PRAGMA threads = 2; PRAGMA wal_autocheckpoint = 0;"
            ))?;
            let imported = import_roll_in(conn, rows, options);
            conn.execute_batch(&format!(
                "PRAGMA cache_size = -{CACHE_KIB}; PRAGMA threads = 0; PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT};"
            ))?;
            imported
        })
        .await;
        if imported.is_ok() {
            self.checkpoint_in_background();
        }
        imported
    }

    async fn settle(&self) {
        let running = self.checkpoints.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        if !running.is_empty() {
            let joined = tokio::task::spawn_blocking(move || {
                for h in running {
                    let _ = h.join();
                }
            });
            let _ = joined.await;
        }
    }

    async fn people(&self, ids: Vec<String>) -> Result<Vec<Person>, StoreError> {
        self.run(move |conn| sqlite_dedup::people(conn, &ids)).await
    }

    async fn people_by_keys(&self, keys: Vec<String>, per_key: u32) -> Result<Vec<Person>, StoreError> {
        self.run(move |conn| sqlite_dedup::people_by_keys(conn, &keys, per_key)).await
    }

    async fn queued(&self, limit: u32) -> Result<Vec<Queued>, StoreError> {
        self.run(move |conn| sqlite_dedup::queued(conn, limit)).await
    }

    async fn index_queued(&self, items: Vec<Queued>) -> Result<(), StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            sqlite_dedup::index_queued(&tx, &items)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn dequeue(&self, items: Vec<Queued>) -> Result<(), StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            sqlite_dedup::dequeue(&tx, &items)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn all_people(&self) -> Result<Vec<Person>, StoreError> {
        self.run(|conn| sqlite_dedup::all_people(conn)).await
    }

    async fn add_pairs(&self, pairs: Vec<NewPair>, now: i64) -> Result<usize, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let n = sqlite_dedup::add_pairs(&tx, &pairs, now)?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    async fn pairs(&self, status: Option<String>, limit: u32) -> Result<Vec<PairRow>, StoreError> {
        self.run(move |conn| sqlite_dedup::pairs(conn, status.as_deref(), limit)).await
    }

    async fn not_duplicate(&self, a: &str, b: &str, by: &str, now: i64) -> Result<PairRow, StoreError> {
        let (a, b, by) = (a.to_string(), b.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            resident_doc(&tx, &a)?;
            resident_doc(&tx, &b)?;
            if a == b {
                return Err(StoreError::Refused("a record is not a duplicate of itself".into()));
            }
            sqlite_dedup::decide(&tx, &a, &b, "not_duplicate", &by, now)?;
            sqlite_dedup::audit(&tx, &dedup::decision_audit("not_duplicate", &a, &b, &by, now))?;
            let row = sqlite_dedup::pair(&tx, &a, &b)?.ok_or_else(|| StoreError::NoRecord(format!("{a} / {b}")))?;
            tx.commit()?;
            Ok(row)
        })
        .await
    }

    async fn merge_records(&self, survivor: &str, duplicate: &str, by: &str, now: i64) -> Result<MergeRow, StoreError> {
        let (survivor, duplicate, by) = (survivor.to_string(), duplicate.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let (s, d) = (resident_doc(&tx, &survivor)?, resident_doc(&tx, &duplicate)?);
            let (writes, combination) = dedup::plan_merge((&survivor, &s), (&duplicate, &d), &by, now)?;
            let row = write_merge(&tx, &survivor, &duplicate, &writes, combination, &by, now)?;
            sqlite_dedup::audit(&tx, &dedup::merge_audit("merge", &row, &by, now, &[]))?;
            tx.commit()?;
            Ok(row)
        })
        .await
    }

    async fn undo_merge(&self, duplicate: &str, by: &str, now: i64) -> Result<(MergeRow, Vec<String>), StoreError> {
        let (duplicate, by) = (duplicate.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let d = resident_doc(&tx, &duplicate)?;
            let merge = sqlite_dedup::open_merge(&tx, &duplicate)?.ok_or_else(|| dedup::not_merged(&duplicate))?;
            let s = resident_doc(&tx, &merge.survivor)?;
            let (writes, left) =
                dedup::plan_undo((&merge.survivor, &s), (&duplicate, &d), &merge.combination, &by, now)?;
            write_registry(&tx, &writes, now)?;
            sqlite_dedup::mark_undone(&tx, merge.id, &by, now)?;
            // The reviewer decides again.
            sqlite_dedup::decide(&tx, &merge.survivor, &duplicate, "pending", &by, now)?;
            sqlite_dedup::audit(&tx, &dedup::merge_audit("unmerge", &merge, &by, now, &left))?;
            tx.commit()?;
            Ok((merge, left))
        })
        .await
    }

    async fn resolve_health_id(&self, health: &str) -> Result<Option<(String, String)>, StoreError> {
        let health = health.to_string();
        self.run(move |conn| sqlite_dedup::resolve_health_id(conn, &health)).await
    }

    async fn audit(&self, entry: NewAudit) -> Result<(), StoreError> {
        self.run(move |conn| sqlite_dedup::audit(conn, &entry)).await
    }

    async fn audit_log(&self, subject: Option<String>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |conn| sqlite_dedup::audit_log(conn, subject.as_deref(), limit)).await
    }

    async fn add_staff(&self, staff: Staff) -> Result<Staff, StoreError> {
        self.run(move |conn| {
            let n = conn.execute(
                "INSERT INTO staff(name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name) DO NOTHING",
                params![staff.name, staff.role.as_str(), staff.password_hash, staff.created_at],
            )?;
            if n == 0 {
                return Err(StoreError::Refused(format!("there is already a staff account {:?}", staff.name)));
            }
            Ok(staff)
        })
        .await
    }

    async fn staff(&self, name: &str) -> Result<Option<Staff>, StoreError> {
        let name = name.to_string();
        self.run(move |conn| staff_row(conn, &name)).await
    }

    async fn staff_list(&self) -> Result<Vec<Staff>, StoreError> {
        self.run(|conn| {
            let mut st = conn.prepare("SELECT name FROM staff ORDER BY name")?;
            let names = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
            let mut out = Vec::with_capacity(names.len());
            for n in names {
                out.extend(staff_row(conn, &n)?);
            }
            Ok(out)
        })
        .await
    }

    async fn disable_staff(&self, name: &str, now: i64) -> Result<Staff, StoreError> {
        let name = name.to_string();
        self.run(move |conn| {
            conn.execute(
                "UPDATE staff SET disabled_at = coalesce(disabled_at, ?2) WHERE name = ?1",
                params![name, now],
            )?;
            staff_row(conn, &name)?.ok_or_else(|| StoreError::Refused(format!("no staff account {name:?}")))
        })
        .await
    }
}

fn staff_row(conn: &Connection, name: &str) -> Result<Option<Staff>, StoreError> {
    let row: Option<(String, String, String, i64, Option<i64>)> = conn
        .query_row(
            "SELECT name, role, password_hash, created_at, disabled_at FROM staff WHERE name = ?1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    row.map(|(name, role, password_hash, created_at, disabled_at)| {
        Ok(Staff { name, role: super::staff_role(&role)?, password_hash, created_at, disabled_at })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new registry file has 8 KiB pages; one made with another size
    /// keeps it and opens as before.
    #[tokio::test]
    async fn a_new_registry_has_8_kib_pages_and_an_old_one_keeps_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let page_size = |path: &Path| {
            Connection::open(path).unwrap().query_row("PRAGMA page_size", [], |r| r.get::<_, u32>(0)).unwrap()
        };
        let new = dir.path().join("new.db");
        SqliteStore::open(&new).unwrap().migrate().await.unwrap();
        assert_eq!(page_size(&new), PAGE_SIZE);
        let old = dir.path().join("old.db");
        Connection::open(&old)
            .unwrap()
            .execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t(x);")
            .unwrap();
        let store = SqliteStore::open(&old).unwrap();
        store.migrate().await.unwrap();
        assert_eq!(store.stats().await.unwrap().residents, 0);
        drop(store);
        assert_eq!(page_size(&old), 4096);
    }

    /// An import leaves its pages in the log and a checkpoint of its own
    /// copies them into the database file: none is left behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_import_is_checkpointed_after_it_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.db");
        let store = SqliteStore::open(&path).unwrap();
        store.migrate().await.unwrap();
        // Another connection stays open, so closing the store is not the
        // last close (which would checkpoint the log by itself).
        let other = Connection::open(&path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        let header = "epic,name_en,relation_type,relation_name_en,age,sex,house_no,section,ward,part_no,serial_no\n";
        let body: String = (0..3000)
            .map(|i| format!("ABC{i:07},Ram Sharma,F,Shyam Sharma,40,M,{},S,12,1,{}\n", i / 3, i + 1))
            .collect();
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        let options = roll::ParseOptions { as_of: today, today, max_errors: 10 };
        let parsed = roll::parse(format!("{header}{body}").as_bytes(), &options, &|_| {}).unwrap();
        let summary = store
            .import_roll(
                parsed.rows,
                ImportOptions {
                    now: chrono::DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
                    entropy: Box::new(ehcard_core::SeededEntropy::new(7)),
                    progress: None,
                    indexes: roll::Indexes::Rebuild,
                },
            )
            .await
            .unwrap();
        assert_eq!(summary.added, 3000);
        drop(store); // waits for the checkpoint
        let after = std::fs::metadata(&path).unwrap().len();
        assert!(after > before + 1_000_000, "the database file holds the import: {before} -> {after} bytes");
        let (log, copied): (i64, i64) =
            other.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get(1)?, r.get(2)?))).unwrap();
        assert_eq!(log, copied, "every page in the log is in the database file");
        let residents: i64 = other.query_row("SELECT count(*) FROM residents", [], |r| r.get(0)).unwrap();
        assert_eq!(residents, 3000);
    }
}
