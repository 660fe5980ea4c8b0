//! The device's encrypted local store: one SQLCipher file holding every
//! record's Automerge document, with query tables projected from them.
//!
//! Layout of a data directory:
//! - `ehcard.key`: the data key wrapped under the worker's passphrase
//!   ([`keyfile`]); no personal data.
//! - `ehcard.db` (+ `-wal`, `-shm`): SQLCipher database; every page,
//!   including the write-ahead log, is encrypted with the data key.
//!
//! **Invariants:** `docs` is the truth and every other table can be rebuilt
//! from it ([`Store::reindex`]); every write is one SQLite transaction in WAL
//! mode with `synchronous=FULL`, so a killed process leaves every committed
//! record and nothing half-written; a wrong passphrase changes nothing.

mod dedup;
pub mod keyfile;
mod project;
mod search;
pub mod sync;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use automerge::ActorId;
use ehcard_core::doc::{DocError, Edit, Origin, RecordDoc};
use ehcard_core::ids::{DeviceNumber, HealthId, HealthIdError, RecordId};
use ehcard_core::merge::heads_to_bytes;
use ehcard_core::model::{self, FieldValue, Fields, Input, Record, RecordKind};
use ehcard_core::validate::FieldError;
use ehcard_core::{EditContext, Entropy};
use ring::rand::SystemRandom;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

pub use dedup::Duplicate;
pub use keyfile::{DEFAULT_ITERATIONS, KeyFile};
pub use search::{SearchHit, SearchKind};
pub use sync::{Applied, Incoming, Outgoing, Provisioning, SyncState};

const DB_FILE: &str = "ehcard.db";
const KEY_FILE: &str = "ehcard.key";

/// Records planned, built (in parallel) and written per step of an import.
const IMPORT_CHUNK: usize = 1024;

const MIGRATIONS: &[&str] = &[
    include_str!("../../../schema/migrations/device/0001_init.sql"),
    include_str!("../../../schema/migrations/device/0002_sync.sql"),
    include_str!("../../../schema/migrations/device/0003_roll.sql"),
];

/// Everything that can go wrong with the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no ehcard store in {0}: run `ehcard init` first")]
    NotInitialised(PathBuf),
    #[error(
        "{0} already holds an ehcard store; use another --data directory, or `ehcard passwd` to change its passphrase"
    )]
    AlreadyInitialised(PathBuf),
    #[error("wrong passphrase: nothing was changed. Check the keyboard language and try again")]
    WrongPassphrase,
    #[error("the passphrase must have at least {0} characters")]
    WeakPassphrase(usize),
    #[error("the key file is damaged ({0}); restore ehcard.key from a backup")]
    KeyFile(String),
    #[error("the database does not open with its key (damaged or replaced); restore the data directory from a backup")]
    Corrupt,
    #[error("the system random number generator failed")]
    Random,
    #[error("the database was written by a newer ehcard (schema {0}); update this app")]
    TooNew(i64),
    #[error("no record {0} on this device")]
    NotFound(String),
    #[error("a record with id {0} already exists")]
    Exists(String),
    #[error("eHealth ID {0} is already used by another record")]
    HealthIdTaken(String),
    #[error("the record is not valid:\n{}", ehcard_core::validate::messages(.0, ehcard_core::Lang::En))]
    Invalid(Vec<FieldError>),
    #[error("{} bad line(s); nothing was imported", .0.len())]
    Import(Vec<LineError>),
    #[error(transparent)]
    HealthId(#[from] HealthIdError),
    #[error("record document: {0}")]
    Doc(#[from] DocError),
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("file: {0}")]
    Io(#[from] std::io::Error),
    #[error("an import worker stopped unexpectedly; nothing was imported")]
    Worker,
    #[error(
        "this resident may already be enrolled: {} likely duplicate(s) on this device. Check them; save only if none is the same person",
        .0.len()
    )]
    LikelyDuplicate(Vec<Duplicate>),
    #[error("{0} is not a resident")]
    NotResident(String),
}

impl StoreError {
    /// A stable machine-readable code (for the app and `--json` output).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotInitialised(_) => "not_initialised",
            StoreError::AlreadyInitialised(_) => "already_initialised",
            StoreError::WrongPassphrase => "wrong_passphrase",
            StoreError::WeakPassphrase(_) => "weak_passphrase",
            StoreError::KeyFile(_) => "key_file_damaged",
            StoreError::Corrupt => "database_damaged",
            StoreError::Random => "random_failed",
            StoreError::TooNew(_) => "schema_too_new",
            StoreError::NotFound(_) => "not_found",
            StoreError::Exists(_) => "exists",
            StoreError::HealthIdTaken(_) => "health_id_taken",
            StoreError::Invalid(_) => "invalid",
            StoreError::Import(_) => "import_rejected",
            StoreError::HealthId(_) => "health_id",
            StoreError::Doc(_) => "document",
            StoreError::Sqlite(_) => "database",
            StoreError::Io(_) => "io",
            StoreError::Worker => "worker",
            StoreError::LikelyDuplicate(_) => "likely_duplicate",
            StoreError::NotResident(_) => "not_resident",
        }
    }
}

/// A rejected line of an import file.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based line number in the file.
    pub line: usize,
    pub errors: Vec<FieldError>,
}

/// Options for a new store.
#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub device_number: DeviceNumber,
    pub device_label: String,
    pub kdf_iterations: u32,
}

/// This device, as the store knows it.
#[derive(Debug, Clone)]
pub struct DeviceInfo {
    pub number: DeviceNumber,
    pub label: String,
    pub actor: ActorId,
    /// The wards a provisioned tablet may enroll in (`None`: standalone).
    pub wards: Option<Vec<u16>>,
}

/// Counts for `ehcard stats`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub device_number: String,
    pub device_label: String,
    pub residents: u64,
    pub households: u64,
    pub with_conflicts: u64,
    /// Residents by status (`enrolled` for those enrolled in the field).
    pub by_status: BTreeMap<String, u64>,
    /// Residents merged into another record by the registry (not counted above).
    pub merged: u64,
    pub next_sequence: u64,
    pub by_ward: BTreeMap<i64, u64>,
    pub by_sex: BTreeMap<String, u64>,
    pub enrolled_today: u64,
    pub last_enrolled_at: Option<String>,
    pub database_bytes: u64,
}

/// An open, unlocked store.
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    device: DeviceInfo,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dir", &self.dir).field("device", &self.device.number).finish()
    }
}

/// Whether `dir` holds a store.
pub fn exists(dir: &Path) -> bool {
    dir.join(KEY_FILE).exists()
}

fn open_connection(dir: &Path, key: &keyfile::DataKey) -> Result<Connection, StoreError> {
    let conn = Connection::open(dir.join(DB_FILE))?;
    conn.execute_batch(&key.sqlcipher_pragma())?;
    // The first read tells whether the key fits.
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => {}
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::NotADatabase => {
            return Err(StoreError::Corrupt);
        }
        Err(e) => return Err(e.into()),
    }
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = ON;
         PRAGMA cache_size = -65536;
         PRAGMA cipher_memory_security = OFF;",
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(StoreError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
        tx.commit()?;
    }
    Ok(())
}

pub(crate) fn meta_get(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

pub(crate) fn meta_set(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

impl Store {
    /// Make a new store in `dir`, encrypted under `passphrase`.
    pub fn create(
        dir: &Path,
        passphrase: &str,
        options: &CreateOptions,
        entropy: &mut dyn Entropy,
    ) -> Result<Store, StoreError> {
        if exists(dir) {
            return Err(StoreError::AlreadyInitialised(dir.to_path_buf()));
        }
        keyfile::check_passphrase_strength(passphrase)?;
        fs::create_dir_all(dir)?;
        // A database without a key file is the leftover of an interrupted
        // init: nothing can read it, so start again.
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let p = dir.join(format!("{DB_FILE}{suffix}"));
            if p.exists() {
                fs::remove_file(p)?;
            }
        }
        let rng = SystemRandom::new();
        let key = keyfile::DataKey::generate(&rng)?;
        let keyfile = KeyFile::wrap(&key, passphrase, options.kdf_iterations, &rng)?;
        let mut conn = open_connection(dir, &key)?;
        migrate(&mut conn)?;
        let mut actor = [0u8; 16];
        entropy.fill(&mut actor);
        let tx = conn.transaction()?;
        meta_set(&tx, "device_number", &options.device_number.get().to_string())?;
        meta_set(&tx, "device_label", &options.device_label)?;
        meta_set(&tx, "actor", &hex::encode(actor))?;
        meta_set(&tx, "next_sequence", "1")?;
        // A new store has no projections to rebuild.
        tx.execute("DELETE FROM meta WHERE key = 'reindex_needed'", [])?;
        tx.commit()?;
        // The key file is written last: its presence marks a finished init.
        keyfile.write_atomic(&dir.join(KEY_FILE))?;
        Store::from_connection(conn, dir)
    }

    /// Unlock the store in `dir`.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Store, StoreError> {
        if !exists(dir) {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        if !dir.join(DB_FILE).exists() {
            return Err(StoreError::Corrupt);
        }
        let key = KeyFile::read(&dir.join(KEY_FILE))?.unwrap_key(passphrase)?;
        let mut conn = open_connection(dir, &key)?;
        migrate(&mut conn)?;
        let mut store = Store::from_connection(conn, dir)?;
        // A migration added projections: fill them from the documents.
        if meta_get(&store.conn, "reindex_needed")?.is_some() {
            store.reindex(&mut |_| {})?;
        }
        Ok(store)
    }

    /// Rewrap the data key under a new passphrase. The database is untouched.
    pub fn change_passphrase(dir: &Path, old: &str, new: &str) -> Result<(), StoreError> {
        if !exists(dir) {
            return Err(StoreError::NotInitialised(dir.to_path_buf()));
        }
        keyfile::check_passphrase_strength(new)?;
        let path = dir.join(KEY_FILE);
        let current = KeyFile::read(&path)?;
        let key = current.unwrap_key(old)?;
        let iterations = current.iterations.max(DEFAULT_ITERATIONS);
        KeyFile::wrap(&key, new, iterations, &SystemRandom::new())?.write_atomic(&path)
    }

    fn from_connection(conn: Connection, dir: &Path) -> Result<Store, StoreError> {
        let number =
            meta_get(&conn, "device_number")?.and_then(|s| s.parse::<u32>().ok()).ok_or(StoreError::Corrupt)?;
        let label = meta_get(&conn, "device_label")?.unwrap_or_default();
        let actor = meta_get(&conn, "actor")?.and_then(|a| hex::decode(a).ok()).ok_or(StoreError::Corrupt)?;
        let wards = meta_get(&conn, "provisioning")?
            .and_then(|s| serde_json::from_str::<sync::Provisioning>(&s).ok())
            .map(|p| p.wards);
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            device: DeviceInfo { number: DeviceNumber::new(number)?, label, actor: ActorId::from(actor), wards },
        })
    }

    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Enroll one resident (or make one household). A resident who looks
    /// like someone already on the device is refused with
    /// [`StoreError::LikelyDuplicate`] unless the worker checked each
    /// candidate and named it in `not_duplicate_of`.
    pub fn enroll(
        &mut self,
        input: Input,
        not_duplicate_of: &[RecordId],
        entropy: &mut dyn Entropy,
        ctx: &EditContext,
    ) -> Result<Record, StoreError> {
        let device = self.device.clone();
        let tx = self.conn.transaction()?;
        if input.kind == RecordKind::Resident {
            let own = input.id.map(|i| i.to_string()).unwrap_or_default();
            let checked: Vec<String> = not_duplicate_of.iter().map(RecordId::to_string).collect();
            let left: Vec<Duplicate> = dedup::likely_duplicates(&tx, &own, &input.fields)?
                .into_iter()
                .filter(|d| !checked.contains(&d.id))
                .collect();
            if !left.is_empty() {
                return Err(StoreError::LikelyDuplicate(left));
            }
        }
        let record = {
            let mut w = Writer::new(&tx, &device);
            let id = w.insert(input, entropy, ctx)?;
            w.flush()?;
            w.read(&id)?
        };
        tx.commit()?;
        Ok(record)
    }

    /// Import many records in one transaction: all or nothing. `progress` is
    /// called with the number of records written so far.
    pub fn import(
        &mut self,
        inputs: Vec<Input>,
        entropy: &mut dyn Entropy,
        ctx: &EditContext,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize, StoreError> {
        let device = self.device.clone();
        let tx = self.conn.transaction()?;
        let n = inputs.len();
        {
            let mut w = Writer::new(&tx, &device);
            // Households first, so members find them.
            let (households, residents): (Vec<Input>, Vec<Input>) =
                inputs.into_iter().partition(|i| i.kind == RecordKind::Household);
            let mut all = households.into_iter().chain(residents).peekable();
            // A pipeline: this thread plans a chunk and writes the chunk
            // before it, while a builder makes the documents in between.
            let actor = device.actor.clone();
            std::thread::scope(|scope| -> Result<(), StoreError> {
                let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Vec<NewDoc>>(1);
                let (built_tx, built_rx) = std::sync::mpsc::sync_channel::<Built>(1);
                scope.spawn(move || {
                    for jobs in job_rx {
                        if built_tx.send(build_docs(&jobs, &actor, ctx)).is_err() {
                            break;
                        }
                    }
                });
                let mut done = 0;
                let mut in_flight = std::collections::VecDeque::new();
                loop {
                    if all.peek().is_some() {
                        let mut jobs = Vec::new();
                        let mut planned = 0;
                        for input in all.by_ref().take(IMPORT_CHUNK) {
                            w.plan(input, entropy, ctx, &mut jobs)?;
                            planned += 1;
                        }
                        job_tx.send(jobs).map_err(|_| StoreError::Worker)?;
                        in_flight.push_back(planned);
                        if in_flight.len() < 2 {
                            continue;
                        }
                    }
                    let Some(count) = in_flight.pop_front() else { break };
                    w.write_built(built_rx.recv().map_err(|_| StoreError::Worker)?)?;
                    done += count;
                    progress(done);
                }
                Ok(())
            })?;
            w.flush()?;
        }
        tx.commit()?;
        progress(n);
        Ok(n)
    }

    /// Residents on the device who may be the person these fields
    /// describe, best first (`id`: the person's own record, if stored).
    pub fn likely_duplicates(&self, id: Option<&RecordId>, fields: &Fields) -> Result<Vec<Duplicate>, StoreError> {
        let own = id.map(RecordId::to_string).unwrap_or_default();
        dedup::likely_duplicates(&self.conn, &own, fields)
    }

    /// Record what the worker found at the door: `verified` (confirmed),
    /// `moved`, `deceased` or `not_found`.
    pub fn set_status(&mut self, id: &RecordId, status: &str, ctx: &EditContext) -> Result<Record, StoreError> {
        if !model::STATUSES.contains(&status) || status == "unverified" {
            return Err(StoreError::Invalid(vec![FieldError::new(
                "status",
                ehcard_core::Rule::OneOf(
                    model::STATUSES.iter().filter(|s| **s != "unverified").map(|s| s.to_string()).collect(),
                ),
            )]));
        }
        if self.show(id)?.meta.kind != RecordKind::Resident {
            return Err(StoreError::NotResident(id.to_string()));
        }
        self.edit(id, &[Edit::Set("status", FieldValue::Text(status.to_string()))], ctx)
    }

    /// The record a merged-away record now lives on: the survivor the
    /// registry merged it into (following chains), or itself.
    pub fn survivor(&self, id: &RecordId) -> Result<RecordId, StoreError> {
        let mut current = *id;
        for _ in 0..16 {
            let next: Option<Option<String>> = self
                .conn
                .query_row("SELECT merged_into FROM residents WHERE id = ?1", [current.to_string()], |r| r.get(0))
                .optional()?;
            match next.flatten().and_then(|s| s.parse::<RecordId>().ok()) {
                Some(n) if n != current && self.contains(&n)? => current = n,
                _ => break,
            }
        }
        Ok(current)
    }

    /// Find a record by its id or eHealth ID. An eHealth ID that was merged
    /// away resolves to the survivor, so an old card still finds its resident.
    pub fn resolve(&self, text: &str) -> Result<RecordId, StoreError> {
        if let Ok(id) = text.parse::<RecordId>() {
            let found: Option<String> =
                self.conn.query_row("SELECT id FROM docs WHERE id = ?1", [id.to_string()], |r| r.get(0)).optional()?;
            return found.map(|_| id).ok_or_else(|| StoreError::NotFound(text.to_string()));
        }
        if let Ok(h) = text.parse::<HealthId>() {
            let found: Option<String> = self
                .conn
                .query_row("SELECT id FROM residents WHERE health_id = ?1", [h.compact()], |r| r.get(0))
                .optional()?;
            if let Some(id) = found.and_then(|s| s.parse().ok()) {
                return self.survivor(&id);
            }
        }
        Err(StoreError::NotFound(text.to_string()))
    }

    /// Whether a record with this id is on the device.
    pub fn contains(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT 1 FROM docs WHERE id = ?1", [id.to_string()], |_| Ok(())).optional()?.is_some())
    }

    /// Whether a resident on the device has this eHealth ID.
    pub fn health_id_in_use(&self, h: &HealthId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM residents WHERE health_id = ?1", [h.compact()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// A record as it stands now.
    pub fn show(&self, id: &RecordId) -> Result<Record, StoreError> {
        let doc = load_doc(&self.conn, id, &self.device.actor)?;
        Ok(doc.read()?)
    }

    /// Change fields of a record. The result is validated as a whole; an
    /// invalid result changes nothing.
    pub fn edit(&mut self, id: &RecordId, edits: &[Edit], ctx: &EditContext) -> Result<Record, StoreError> {
        let device = self.device.clone();
        let tx = self.conn.transaction()?;
        let record = {
            let mut w = Writer::new(&tx, &device);
            w.edit(id, edits, ctx)?;
            w.flush()?;
            w.read(id)?
        };
        tx.commit()?;
        Ok(record)
    }

    /// Search residents by name (either script, prefix), voter id, phone or
    /// eHealth ID.
    pub fn search(&self, text: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
        search::search(&self.conn, text, limit)
    }

    /// Every resident of a ward, in street order.
    pub fn residents_in_ward(&self, ward: i64) -> Result<Vec<RecordId>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id FROM residents r LEFT JOIN households h ON h.id = r.household_id
             WHERE r.ward = ?1 ORDER BY h.locality, h.street, h.house, r.household_id, r.id",
        )?;
        let ids = stmt.query_map([ward], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
        Ok(ids.into_iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// Households, optionally of one ward, in street order.
    pub fn households(&self, ward: Option<i64>, limit: usize) -> Result<Vec<search::HouseholdRow>, StoreError> {
        search::households(&self.conn, ward, limit)
    }

    /// A household's members, eldest first (the head first).
    pub fn members(&self, household: &RecordId) -> Result<Vec<SearchHit>, StoreError> {
        search::members(&self.conn, &household.to_string())
    }

    /// Every record's JSON, households first, in id order.
    pub fn export(&self, sink: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<usize, StoreError> {
        let mut stmt = self.conn.prepare("SELECT data FROM docs ORDER BY kind = 'resident', id")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            let data: Vec<u8> = row.get(0)?;
            let doc = RecordDoc::load(&data, &self.device.actor)?;
            sink(doc.read()?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Rebuild every projection from the documents.
    pub fn reindex(&mut self, progress: &mut dyn FnMut(usize)) -> Result<usize, StoreError> {
        let actor = self.device.actor.clone();
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM match_keys; DELETE FROM residents; DELETE FROM households;
             INSERT INTO residents_fts(residents_fts) VALUES('rebuild');
             DELETE FROM meta WHERE key = 'reindex_needed';",
        )?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare("SELECT data FROM docs")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let data: Vec<u8> = row.get(0)?;
                let record = RecordDoc::load(&data, &actor)?.read()?;
                project::project(&tx, &record)?;
                n += 1;
                if n % 1000 == 0 {
                    progress(n);
                }
            }
        }
        tx.commit()?;
        progress(n);
        Ok(n)
    }

    pub fn stats(&self, ctx: &EditContext) -> Result<Stats, StoreError> {
        let count =
            |sql: &str| -> Result<u64, StoreError> { Ok(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64) };
        let mut by_ward = BTreeMap::new();
        {
            let mut stmt = self.conn.prepare("SELECT ward, count(*) FROM residents GROUP BY ward")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (w, c) = row?;
                by_ward.insert(w.unwrap_or(0), c as u64);
            }
        }
        let mut by_sex = BTreeMap::new();
        {
            let mut stmt = self.conn.prepare("SELECT coalesce(sex, 'unknown'), count(*) FROM residents GROUP BY 1")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (s, c) = row?;
                by_sex.insert(s, c as u64);
            }
        }
        let mut by_status = BTreeMap::new();
        {
            let mut stmt = self.conn.prepare(
                "SELECT coalesce(status, 'enrolled'), count(*) FROM residents WHERE merged_into IS NULL GROUP BY 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (s, c) = row?;
                by_status.insert(s, c as u64);
            }
        }
        let start_of_day = ctx.today().and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis()).unwrap_or(0);
        let enrolled_today: i64 = self.conn.query_row(
            "SELECT count(*) FROM residents WHERE enrolled_at >= ?1 AND coalesce(status, '') <> 'unverified'",
            [start_of_day],
            |r| r.get(0),
        )?;
        let last: Option<i64> = self.conn.query_row("SELECT max(enrolled_at) FROM residents", [], |r| r.get(0))?;
        let database_bytes = ["", "-wal"]
            .iter()
            .filter_map(|s| fs::metadata(self.dir.join(format!("{DB_FILE}{s}"))).ok())
            .map(|m| m.len())
            .sum();
        Ok(Stats {
            device_number: self.device.number.to_string(),
            device_label: self.device.label.clone(),
            residents: count("SELECT count(*) FROM residents WHERE merged_into IS NULL")?,
            households: count("SELECT count(*) FROM households")?,
            with_conflicts: count("SELECT count(*) FROM residents WHERE has_conflicts")?,
            by_status,
            merged: count("SELECT count(*) FROM residents WHERE merged_into IS NOT NULL")?,
            next_sequence: meta_get(&self.conn, "next_sequence")?.and_then(|s| s.parse().ok()).unwrap_or(1),
            by_ward,
            by_sex,
            enrolled_today: enrolled_today as u64,
            last_enrolled_at: last.and_then(chrono::DateTime::from_timestamp_millis).map(|t| model::rfc3339(&t)),
            database_bytes,
        })
    }

    /// Fold the write-ahead log into the database file (for size figures
    /// and backups).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

fn load_doc(conn: &Connection, id: &RecordId, actor: &ActorId) -> Result<RecordDoc, StoreError> {
    let data: Option<Vec<u8>> =
        conn.query_row("SELECT data FROM docs WHERE id = ?1", [id.to_string()], |r| r.get(0)).optional()?;
    let data = data.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    Ok(RecordDoc::load(&data, actor)?)
}

/// Writes inside one transaction, keeping household documents in memory
/// until [`Writer::flush`] so a bulk import rewrites each household once.
struct Writer<'a> {
    tx: &'a Transaction<'a>,
    device: &'a DeviceInfo,
    docs: HashMap<RecordId, (RecordDoc, RecordKind, bool)>,
    next_sequence: Option<u32>,
    /// Ids and eHealth IDs planned but not yet written.
    planned: HashSet<RecordId>,
    planned_health: HashSet<HealthId>,
}

/// Made documents: the record, the saved bytes, the heads.
type Built = Vec<Result<(Record, Vec<u8>, Vec<u8>), DocError>>;

/// Make documents (on every core when there are many) and save them.
fn build_docs(jobs: &[NewDoc], actor: &ActorId, ctx: &EditContext) -> Built {
    ehcard_core::par::map(jobs, |job| {
        let mut doc = RecordDoc::create(job.kind, &job.origin, &job.fields, actor, ctx)?;
        let heads = heads_to_bytes(&doc.heads());
        Ok((RecordDoc::created_record(job.kind, &job.origin, job.fields.clone(), ctx), doc.save(), heads))
    })
}

/// A document to make: everything about it is decided.
struct NewDoc {
    kind: RecordKind,
    origin: Origin,
    fields: Fields,
}

impl<'a> Writer<'a> {
    fn new(tx: &'a Transaction<'a>, device: &'a DeviceInfo) -> Self {
        Writer {
            tx,
            device,
            docs: HashMap::new(),
            next_sequence: None,
            planned: HashSet::new(),
            planned_health: HashSet::new(),
        }
    }

    fn exists(&self, id: &RecordId) -> Result<bool, StoreError> {
        if self.docs.contains_key(id) || self.planned.contains(id) {
            return Ok(true);
        }
        Ok(self.tx.query_row("SELECT 1 FROM docs WHERE id = ?1", [id.to_string()], |_| Ok(())).optional()?.is_some())
    }

    fn doc(&mut self, id: &RecordId) -> Result<&mut RecordDoc, StoreError> {
        if !self.docs.contains_key(id) {
            let doc = load_doc(self.tx, id, &self.device.actor)?;
            let kind = doc.read()?.meta.kind;
            self.docs.insert(*id, (doc, kind, false));
        }
        let entry = self.docs.get_mut(id).ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        entry.2 = true;
        Ok(&mut entry.0)
    }

    fn read(&mut self, id: &RecordId) -> Result<Record, StoreError> {
        match self.docs.get(id) {
            Some((doc, _, _)) => Ok(doc.read()?),
            None => Ok(load_doc(self.tx, id, &self.device.actor)?.read()?),
        }
    }

    fn next_health_id(&mut self) -> Result<HealthId, StoreError> {
        let seq = match self.next_sequence {
            Some(s) => s,
            None => meta_get(self.tx, "next_sequence")?.and_then(|s| s.parse().ok()).unwrap_or(1),
        };
        let id = HealthId::new(self.device.number, seq)?;
        self.next_sequence = Some(seq + 1);
        Ok(id)
    }

    /// A provisioned tablet keeps to its wards: the registry would refuse
    /// anything else, and the record would never leave the tablet.
    fn check_ward(&self, fields: &Fields) -> Result<(), StoreError> {
        if let (Some(wards), Some(ward)) = (&self.device.wards, fields.int("address.ward"))
            && !wards.iter().any(|w| i64::from(*w) == ward)
        {
            let list = wards.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", ");
            return Err(StoreError::Invalid(vec![FieldError::new(
                "address.ward",
                ehcard_core::Rule::WardNotAssigned(list),
            )]));
        }
        Ok(())
    }

    /// Residents are written as they are made, so the projection knows
    /// every eHealth ID in use.
    fn health_id_free(&self, h: &HealthId) -> Result<bool, StoreError> {
        let taken = self
            .tx
            .query_row("SELECT 1 FROM residents WHERE health_id = ?1", [h.compact()], |_| Ok(()))
            .optional()?
            .is_some();
        Ok(!taken && !self.planned_health.contains(h))
    }

    fn write(&self, id: &RecordId, kind: RecordKind, doc: &mut RecordDoc) -> Result<(), StoreError> {
        let mut upsert = self.tx.prepare_cached(
            "INSERT INTO docs(id, kind, data, heads) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET data = excluded.data, heads = excluded.heads, dirty = 1,
                version = version + 1",
        )?;
        let heads = heads_to_bytes(&doc.heads());
        upsert.execute(params![id.to_string(), kind.as_str(), doc.save(), heads])?;
        project::project(self.tx, &doc.read()?)?;
        Ok(())
    }

    fn insert(&mut self, input: Input, entropy: &mut dyn Entropy, ctx: &EditContext) -> Result<RecordId, StoreError> {
        let mut jobs = Vec::new();
        let id = self.plan(input, entropy, ctx, &mut jobs)?;
        self.write_jobs(jobs, ctx)?;
        Ok(id)
    }

    /// Decide a new record's ids and household; documents that can be made
    /// independently are pushed to `jobs` for [`Writer::write_jobs`].
    fn plan(
        &mut self,
        input: Input,
        entropy: &mut dyn Entropy,
        ctx: &EditContext,
        jobs: &mut Vec<NewDoc>,
    ) -> Result<RecordId, StoreError> {
        let id = match input.id {
            Some(id) => {
                if self.exists(&id)? {
                    return Err(StoreError::Exists(id.to_string()));
                }
                id
            }
            None => RecordId::new_v7(ctx.unix_millis(), entropy),
        };
        let mut fields = input.fields;
        self.check_ward(&fields)?;
        let health_id = match (input.kind, input.carried.health_id) {
            (RecordKind::Household, _) => None,
            (RecordKind::Resident, Some(h)) => {
                if !self.health_id_free(&h)? {
                    return Err(StoreError::HealthIdTaken(h.to_string()));
                }
                Some(h)
            }
            (RecordKind::Resident, None) => Some(self.next_health_id()?),
        };
        if let Some(h) = health_id {
            self.planned_health.insert(h);
        }
        self.planned.insert(id);
        if input.kind == RecordKind::Resident {
            self.attach_household(&id, &mut fields, entropy, ctx, jobs)?;
        }
        let origin = Origin {
            id,
            health_id,
            enrolled_by: input.carried.enrolled_by.unwrap_or_else(|| ctx.worker.clone()),
            enrolled_device: input.carried.enrolled_device.or_else(|| Some(self.device.number.to_string())),
            enrolled_at: input.carried.enrolled_at.unwrap_or(ctx.now),
        };
        if input.kind == RecordKind::Resident {
            // Residents are not touched again in this transaction.
            jobs.push(NewDoc { kind: input.kind, origin, fields });
        } else {
            // Members named later in the batch may join it: keep it open.
            let doc = RecordDoc::create(input.kind, &origin, &fields, &self.device.actor, ctx)?;
            self.docs.insert(id, (doc, input.kind, true));
        }
        Ok(id)
    }

    /// Make the planned documents and write them.
    fn write_jobs(&mut self, jobs: Vec<NewDoc>, ctx: &EditContext) -> Result<(), StoreError> {
        let built = build_docs(&jobs, &self.device.actor, ctx);
        self.write_built(built)
    }

    /// Write made documents, in order, with their projections.
    fn write_built(&mut self, built: Built) -> Result<(), StoreError> {
        let mut insert = self.tx.prepare_cached("INSERT INTO docs(id, kind, data, heads) VALUES (?1, ?2, ?3, ?4)")?;
        for item in built {
            let (record, bytes, heads) = item?;
            insert.execute(params![record.meta.id.to_string(), record.meta.kind.as_str(), bytes, heads])?;
            project::project(self.tx, &record)?;
        }
        Ok(())
    }

    /// Put a new resident into its household: the one named, or a new one
    /// at the resident's address.
    fn attach_household(
        &mut self,
        resident: &RecordId,
        fields: &mut Fields,
        entropy: &mut dyn Entropy,
        ctx: &EditContext,
        jobs: &mut Vec<NewDoc>,
    ) -> Result<(), StoreError> {
        let named = fields.text("household_id").and_then(|s| s.parse::<RecordId>().ok());
        if let Some(h) = named
            && self.exists(&h)?
        {
            let mut edits = vec![Edit::Add("members", resident.to_string())];
            if fields.text("relation_to_head") == Some("self") {
                edits.push(Edit::Set("head_id", FieldValue::Text(resident.to_string())));
            }
            self.doc(&h)?.apply(&edits, ctx)?;
            return Ok(());
        }
        // A new household at the resident's address, with the resident in it.
        let h = named.unwrap_or_else(|| RecordId::new_v7(ctx.unix_millis(), entropy));
        fields.0.insert("household_id", FieldValue::Text(h.to_string()));
        if named.is_none() && fields.get("relation_to_head").is_none() {
            fields.0.insert("relation_to_head", FieldValue::Text("self".into()));
        }
        let mut hf = Fields::default();
        for path in ["address.house", "address.street", "address.locality", "address.ward", "address.pincode"] {
            if let Some(v) = fields.get(path) {
                hf.0.insert(path, v.clone());
            }
        }
        hf.0.insert("members", FieldValue::Set([(resident.to_string(), resident.to_string())].into()));
        if fields.text("relation_to_head") == Some("self") {
            hf.0.insert("head_id", FieldValue::Text(resident.to_string()));
        }
        let origin = Origin {
            id: h,
            health_id: None,
            enrolled_by: ctx.worker.clone(),
            enrolled_device: Some(self.device.number.to_string()),
            enrolled_at: ctx.now,
        };
        if named.is_some() {
            // Others in this batch may name it too: keep it until the flush.
            let doc = RecordDoc::create(RecordKind::Household, &origin, &hf, &self.device.actor, ctx)?;
            self.docs.insert(h, (doc, RecordKind::Household, true));
        } else {
            self.planned.insert(h);
            jobs.push(NewDoc { kind: RecordKind::Household, origin, fields: hf });
        }
        Ok(())
    }

    fn edit(&mut self, id: &RecordId, edits: &[Edit], ctx: &EditContext) -> Result<(), StoreError> {
        let before = self.read(id)?;
        let mut doc = load_doc(self.tx, id, &self.device.actor)?;
        doc.apply(edits, ctx)?;
        let after = doc.read()?;
        let errors = model::validate(after.meta.kind, &after.fields);
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        if before.fields.int("address.ward") != after.fields.int("address.ward") {
            self.check_ward(&after.fields)?;
        }
        self.docs.insert(*id, (doc, after.meta.kind, true));
        if after.meta.kind == RecordKind::Resident {
            let old = before.fields.text("household_id").and_then(|s| s.parse::<RecordId>().ok());
            let new = after.fields.text("household_id").and_then(|s| s.parse::<RecordId>().ok());
            if old != new {
                if let Some(old) = old.filter(|h| self.exists(h).unwrap_or(false)) {
                    self.doc(&old)?.apply(&[Edit::Remove("members", id.to_string())], ctx)?;
                }
                if let Some(new) = new {
                    if !self.exists(&new)? {
                        return Err(StoreError::Invalid(vec![FieldError::new(
                            "household_id",
                            ehcard_core::Rule::RecordId("no such household on this device".into()),
                        )]));
                    }
                    self.doc(&new)?.apply(&[Edit::Add("members", id.to_string())], ctx)?;
                }
            }
        }
        Ok(())
    }

    /// Save every touched document and its projection.
    fn flush(&mut self) -> Result<(), StoreError> {
        let mut docs = std::mem::take(&mut self.docs);
        for (id, (doc, kind, dirty)) in docs.iter_mut() {
            if *dirty {
                self.write(id, *kind, doc)?;
                *dirty = false;
            }
        }
        self.docs = docs;
        if let Some(seq) = self.next_sequence {
            meta_set(self.tx, "next_sequence", &seq.to_string())?;
        }
        Ok(())
    }
}
