//! The registry's store: one trait, two implementations (SQLite, the
//! embedded default, and PostgreSQL for production), chosen by the
//! database URL's scheme. Both run the same conformance tests.
//!
//! The merge itself ([`merge_one`]) is shared: a store only loads, locks
//! and writes rows.

pub mod console_admin;
pub mod console_dashboard;
pub mod console_records;
pub mod console_review;
pub mod console_sessions;
mod pg_dedup;
pub mod postgres;
pub mod sqlite;
mod sqlite_dedup;

use std::sync::Arc;

use automerge::ActorId;
use chrono::NaiveDate;
use ehcard_core::merge::{MergeOutcome, heads_to_hex, merge_incoming};
use ehcard_core::model::{Record, RecordKind, birth_year};
use ehcard_core::validate::FieldError;
use ehcard_sync::wire::{PullEntry, PushStatus};
use serde::Serialize;

use crate::dedup::{AuditEntry, MergeRow, NewAudit, NewPair, PairRow, Queued};
use crate::staff::{Role, Staff};
pub use console_admin::AdminStore;
pub use console_dashboard::DashboardStore;
pub use console_records::RecordViews;
pub use console_review::ReviewStore;
pub use console_sessions::{Failures, Session, SessionStore};

pub(crate) fn staff_role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Database(format!("unknown staff role {s:?}")))
}

/// A tablet as the registry knows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub number: u32,
    pub label: String,
    pub wards: Vec<u16>,
    #[serde(skip)]
    pub public_key: Option<Vec<u8>>,
    pub created_at: i64,
    pub provisioned_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_sync_at: Option<i64>,
    pub code_expires_at: Option<i64>,
}

impl Device {
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.provisioned_at.is_some() {
            "active"
        } else {
            "awaiting provisioning"
        }
    }
}

/// A device to add, with the hash of its one-time code.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub id: String,
    pub label: String,
    pub wards: Vec<u16>,
    pub code_hash: Vec<u8>,
    pub code_expires_at: i64,
    pub now: i64,
}

/// One record of a push.
#[derive(Debug, Clone)]
pub struct PushItem {
    pub id: String,
    pub changes: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    pub id: String,
    pub status: PushStatus,
    pub heads: Vec<String>,
}

/// A page of the change feed.
#[derive(Debug, Clone)]
pub struct PullPage {
    pub entries: Vec<PullEntry>,
    pub cursor: i64,
    pub more: bool,
}

/// Counts for `ehcard-server stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub residents: i64,
    pub households: i64,
    pub with_conflicts: i64,
    pub feed_entries: i64,
    pub residents_by_ward: std::collections::BTreeMap<i64, i64>,
    pub devices: Vec<DeviceStats>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceStats {
    pub id: String,
    pub number: u32,
    pub label: String,
    pub status: String,
    pub wards: Vec<u16>,
    pub records_last_changed: i64,
    pub last_sync_at: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unknown provisioning code: check it, or ask for a new one")]
    UnknownCode,
    #[error("this provisioning code has expired: ask the administrator for a new one")]
    CodeExpired,
    #[error("no device {0}")]
    NoDevice(String),
    #[error("record {id} is in ward {ward}, which is not one of this tablet's wards ({wards})")]
    OtherWard { id: String, ward: i64, wards: String },
    #[error("record {id} is not valid: {}", ehcard_core::validate::messages(.errors, ehcard_core::Lang::En).replace('\n', "; "))]
    Invalid { id: String, errors: Vec<FieldError> },
    #[error("record {id} is damaged: {message}")]
    Corrupt { id: String, message: String },
    #[error("the database schema is newer than this server (version {0}); update ehcard-server")]
    TooNew(i64),
    #[error("database: {0}")]
    Database(String),
    /// The next device number falls in the range the registry keeps for
    /// itself (roll residents' eHealth IDs).
    #[error("no device number left for tablets: numbers 1-89999 are all used (90000-99999 are the registry's)")]
    NoDeviceNumbers,
    #[error("the registry has used all of its eHealth IDs for roll residents")]
    RollIdsExhausted,
    #[error("no record {0} in the registry")]
    NoRecord(String),
    /// A request the registry's rules refuse (the message says why).
    #[error("{0}")]
    Refused(String),
    /// Another push created the same record at the same moment: try again.
    #[error("another request created record {0} at the same time; retry")]
    Raced(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    /// With PostgreSQL's own message, code and detail when the server sent
    /// them (the error's text alone is "db error").
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => {
                let mut message = format!("{} ({})", db.message(), db.code().code());
                if let Some(detail) = db.detail() {
                    message.push_str(": ");
                    message.push_str(detail);
                }
                StoreError::Database(message)
            }
            None => StoreError::Database(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Database(e.to_string())
    }
}

/// What the registry stores, whatever the database. The console's queries
/// are grouped by page in the `console_*` traits it inherits.
#[async_trait::async_trait]
pub trait RegistryStore:
    SessionStore + DashboardStore + RecordViews + ReviewStore + AdminStore + Send + Sync + 'static
{
    /// Bring the schema up to date.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Add a device awaiting provisioning; it is given the next device number.
    async fn add_device(&self, new: NewDevice) -> Result<Device, StoreError>;
    /// Use a one-time code: register `public_key` for its device.
    async fn redeem_code(&self, code_hash: &[u8], public_key: &[u8], now: i64) -> Result<Device, StoreError>;
    async fn device(&self, id: &str) -> Result<Option<Device>, StoreError>;
    async fn devices(&self) -> Result<Vec<Device>, StoreError>;
    async fn revoke_device(&self, id: &str, now: i64) -> Result<Device, StoreError>;
    /// Remember a request nonce; false if it was seen before (a replay).
    async fn remember_nonce(&self, device: &str, nonce: &str, now: i64) -> Result<bool, StoreError>;
    /// Merge a batch in one transaction: all of it, or (on any error) none.
    async fn push(&self, device: &Device, items: Vec<PushItem>, now: i64) -> Result<Vec<PushOutcome>, StoreError>;
    /// Feed entries of the device's wards after `cursor`, not its own.
    async fn pull(&self, device: &Device, cursor: i64, limit: u32, now: i64) -> Result<PullPage, StoreError>;
    /// A whole document, with its heads and ward.
    async fn record(&self, id: &str) -> Result<Option<(Vec<u8>, Vec<String>, i64)>, StoreError>;
    async fn stats(&self) -> Result<Stats, StoreError>;
    /// Import checked electoral-roll rows in one transaction: all of them,
    /// or (on any error) none (`crate::roll`).
    async fn import_roll(
        &self,
        rows: Vec<crate::roll::RollRow>,
        options: crate::roll::ImportOptions,
    ) -> Result<crate::roll::Summary, StoreError>;
    /// Wait for the work a bulk write left running after it committed:
    /// SQLite copying its log into the database file, PostgreSQL
    /// refreshing the planner's statistics. Both run beside other work; a
    /// command calls this before it exits, a server never needs to.
    async fn settle(&self) {}

    // Duplicates (`crate::dedup`).
    /// The matcher's view of these residents (those not merged away).
    async fn people(&self, ids: Vec<String>) -> Result<Vec<ehcard_match::Person>, StoreError>;
    /// People sharing one of `keys` (not merged away): for each key, the
    /// `per_key` most recently made records.
    async fn people_by_keys(&self, keys: Vec<String>, per_key: u32) -> Result<Vec<ehcard_match::Person>, StoreError>;
    /// Residents written but not yet indexed and compared, oldest first.
    async fn queued(&self, limit: u32) -> Result<Vec<Queued>, StoreError>;
    /// Replace the match index (`match_people`, `match_keys`) of queued residents.
    async fn index_queued(&self, items: Vec<Queued>) -> Result<(), StoreError>;
    /// Take residents off the queue once compared (unless written again since).
    async fn dequeue(&self, items: Vec<Queued>) -> Result<(), StoreError>;
    /// Every resident not merged away, in id order.
    async fn all_people(&self) -> Result<Vec<ehcard_match::Person>, StoreError>;
    /// Queue candidate pairs; decided pairs stay decided. How many were new.
    async fn add_pairs(&self, pairs: Vec<NewPair>, now: i64) -> Result<usize, StoreError>;
    /// Pairs by status (`None`: all), best score first.
    async fn pairs(&self, status: Option<String>, limit: u32) -> Result<Vec<PairRow>, StoreError>;
    /// Mark two residents as different people.
    async fn not_duplicate(&self, a: &str, b: &str, by: &str, now: i64) -> Result<PairRow, StoreError>;
    /// Merge `duplicate` into `survivor` in one transaction (documents,
    /// projections, feed, the merge row, the pair, the audit log).
    async fn merge_records(&self, survivor: &str, duplicate: &str, by: &str, now: i64) -> Result<MergeRow, StoreError>;
    /// Undo the merge that made `duplicate` part of another record.
    /// Returns the merge and the fields left alone (changed since).
    async fn undo_merge(&self, duplicate: &str, by: &str, now: i64) -> Result<(MergeRow, Vec<String>), StoreError>;
    /// A resident by eHealth ID (12 digits): its record and the record it
    /// lives on now.
    async fn resolve_health_id(&self, health: &str) -> Result<Option<(String, String)>, StoreError>;
    /// Append to the audit log.
    async fn audit(&self, entry: NewAudit) -> Result<(), StoreError>;
    /// The audit log, newest first, optionally about one subject.
    async fn audit_log(&self, subject: Option<String>, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;

    // Staff accounts (`crate::staff`).
    /// Add an account; refused if the name is taken.
    async fn add_staff(&self, staff: Staff) -> Result<Staff, StoreError>;
    async fn staff(&self, name: &str) -> Result<Option<Staff>, StoreError>;
    async fn staff_list(&self) -> Result<Vec<Staff>, StoreError>;
    /// Disable an account: it can no longer sign in.
    async fn disable_staff(&self, name: &str, now: i64) -> Result<Staff, StoreError>;
}

pub type DynStore = Arc<dyn RegistryStore>;

/// Open the store a URL names: `sqlite://PATH` or `postgres://…`.
pub async fn open(url: &str) -> Result<DynStore, StoreError> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path))?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::connect(url).await?));
    }
    Err(StoreError::Database(format!("unknown database URL {url:?}: use sqlite://PATH or postgres://…")))
}

/// The server's own actor: it never edits records, but Automerge wants one.
pub fn server_actor() -> ActorId {
    ActorId::from(b"ehcard-registry!".as_slice())
}

/// The bytes a feed entry sends. An entry written without bytes is a
/// record's creating change written once, as the document (a roll
/// import): while the document has not changed since (`doc_heads` are the
/// entry's heads) the document is that change; after, the change is taken
/// from the document by its hash. Either way the tablet receives exactly
/// what the entry recorded, no more.
pub fn entry_changes(
    id: &str,
    changes: Vec<u8>,
    heads: &str,
    doc: Option<Vec<u8>>,
    doc_heads: Option<&str>,
) -> Result<Vec<u8>, StoreError> {
    if !changes.is_empty() {
        return Ok(changes);
    }
    let corrupt = |message: &str| StoreError::Corrupt { id: id.to_string(), message: message.to_string() };
    let doc = doc.ok_or_else(|| corrupt("a feed entry written as its document, but the document is missing"))?;
    if doc_heads == Some(heads) {
        return Ok(doc);
    }
    let hashes: Vec<String> =
        serde_json::from_str(heads).map_err(|_| corrupt("a feed entry's heads are not a list"))?;
    let hashes =
        ehcard_core::merge::heads_from_hex(&hashes).ok_or_else(|| corrupt("a feed entry's heads are not hashes"))?;
    ehcard_core::doc::RecordDoc::load(&doc, &server_actor())
        .map_err(|e| corrupt(&e.to_string()))?
        .changes_by_hash(&hashes)
        .ok_or_else(|| corrupt("the document lacks the change its feed entry names"))
}

/// A record's query columns, written beside its document.
#[derive(Debug, Clone)]
pub struct Projection {
    pub kind: RecordKind,
    pub ward: i64,
    pub household_id: Option<String>,
    pub health_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    pub house: Option<String>,
    pub street: Option<String>,
    pub locality: Option<String>,
    pub head_id: Option<String>,
    pub members: i64,
    pub has_conflicts: bool,
    pub enrolled_by: String,
    pub updated_at: i64,
    /// unverified / verified / moved / …; absent: enrolled in the field.
    pub status: Option<String>,
    pub merged_into: Option<String>,
    /// The matcher's view of a resident (as JSON) and its blocking keys;
    /// none for households and for residents merged into another record
    /// (they are nobody's duplicate). Made where the document is read, on
    /// every core, so the single writer only inserts rows.
    pub index: Option<(String, Vec<String>)>,
}

impl Projection {
    /// The match queue's row of this resident: the person (JSON; none when
    /// merged away) and the blocking keys (a JSON array).
    pub fn queue_row(&self) -> (Option<&str>, String) {
        match &self.index {
            Some((json, keys)) => (Some(json.as_str()), serde_json::to_string(keys).unwrap_or_else(|_| "[]".into())),
            None => (None, "[]".to_string()),
        }
    }

    pub fn of(r: &Record) -> Projection {
        let f = &r.fields;
        let t = |p: &str| f.text(p).map(str::to_string);
        Projection {
            kind: r.meta.kind,
            ward: f.int("address.ward").unwrap_or(0),
            household_id: t("household_id"),
            health_id: r.meta.health_id.map(|h| h.compact()),
            given_name: t("given_name"),
            family_name: t("family_name"),
            name_hi: t("name_hi"),
            sex: t("sex"),
            birth_year: birth_year(f),
            phone: t("phone"),
            voter_id: t("voter_id"),
            house: t("address.house"),
            street: t("address.street"),
            locality: t("address.locality"),
            head_id: t("head_id"),
            members: f.set_items("members").len() as i64,
            has_conflicts: !r.conflicts.is_empty(),
            enrolled_by: r.meta.enrolled_by.clone(),
            updated_at: r.meta.updated_at.timestamp_millis(),
            status: t("status"),
            merged_into: t("merged_into"),
            index: (r.meta.kind == RecordKind::Resident && f.text("merged_into").is_none()).then(|| {
                let person = ehcard_core::matching::person(&r.meta.id.to_string(), f);
                let keys = ehcard_match::blocking_keys(&person);
                (serde_json::to_string(&person).unwrap_or_default(), keys)
            }),
        }
    }
}

/// What to do with one pushed record.
#[derive(Debug)]
pub enum Step {
    Unchanged {
        heads: Vec<String>,
    },
    NeedFull,
    /// `created`: the registry had no such record before this batch.
    Write {
        doc: Vec<u8>,
        heads: Vec<String>,
        new_changes: Vec<u8>,
        projection: Box<Projection>,
        created: bool,
    },
}

/// A merged record to write.
#[derive(Debug)]
pub struct Write {
    pub id: String,
    pub doc: Vec<u8>,
    /// The document's heads after the merge, as a JSON array of hex.
    pub heads_json: String,
    /// The feed entry's bytes: the changes this write adds. Empty when
    /// `doc` is itself the record's one creating change (a roll import):
    /// the entry is then read from the document ([`entry_changes`]).
    pub new_changes: Vec<u8>,
    pub projection: Box<Projection>,
    /// The registry had no such record before this batch.
    pub created: bool,
    /// This is the batch's first write of the record.
    pub first: bool,
}

/// A record's document and feed entry without its query row: what the
/// second pass of a roll import writes (`roll::Plan::build_in_passes`),
/// the query row having been written in the first.
#[derive(Debug)]
pub struct DocumentWrite {
    pub id: String,
    pub kind: RecordKind,
    pub ward: i64,
    pub doc: Vec<u8>,
    /// As [`Write::heads_json`].
    pub heads_json: String,
    /// As [`Write::new_changes`].
    pub new_changes: Vec<u8>,
    /// The registry had no such record before.
    pub created: bool,
}

impl From<Write> for DocumentWrite {
    fn from(w: Write) -> Self {
        DocumentWrite {
            id: w.id,
            kind: w.projection.kind,
            ward: w.projection.ward,
            doc: w.doc,
            heads_json: w.heads_json,
            new_changes: w.new_changes,
            created: w.created,
        }
    }
}

/// A document and its feed entry, as a store writes them: from a whole
/// write, or from a roll import's second pass.
pub(super) struct Document<'w> {
    pub id: &'w str,
    pub kind: ehcard_core::RecordKind,
    pub ward: i64,
    pub doc: &'w [u8],
    pub heads: &'w str,
    pub changes: &'w [u8],
    pub created: bool,
}

impl<'w> Document<'w> {
    pub fn of_write(w: &'w Write) -> Self {
        let p = &w.projection;
        Document {
            id: &w.id,
            kind: p.kind,
            ward: p.ward,
            doc: &w.doc,
            heads: &w.heads_json,
            changes: &w.new_changes,
            created: w.created,
        }
    }

    pub fn of_document(d: &'w DocumentWrite) -> Self {
        Document {
            id: &d.id,
            kind: d.kind,
            ward: d.ward,
            doc: &d.doc,
            heads: &d.heads_json,
            changes: &d.new_changes,
            created: d.created,
        }
    }
}

/// The audit line of a push that changed something (a push of nothing
/// new is not an action): written in the push's transaction.
pub fn push_audit(device: &Device, items: usize, writes: &[Write], now: i64) -> Option<NewAudit> {
    if writes.is_empty() {
        return None;
    }
    let created = writes.iter().filter(|w| w.created && w.first).count();
    let mut ids: Vec<&str> = writes.iter().map(|w| w.id.as_str()).collect();
    ids.dedup();
    let listed = ids.len().min(50);
    Some(NewAudit {
        at: now,
        actor: device.id.clone(),
        action: "sync_push".into(),
        subject: format!("device:{}", device.id),
        detail: serde_json::json!({
            "tablet": device.number, "label": device.label, "records": items, "merged": ids.len(),
            "created": created, "ids": &ids[..listed], "more_ids": ids.len() - listed,
        }),
    })
}

/// The audit line of a tablet using its one-time code.
pub fn provision_audit(device: &Device, now: i64) -> NewAudit {
    NewAudit {
        at: now,
        actor: device.id.clone(),
        action: "device_provisioned".into(),
        subject: format!("device:{}", device.id),
        detail: serde_json::json!({ "tablet": device.number, "label": device.label, "wards": device.wards }),
    }
}

/// The answer for each pushed record, and the records to write, in order.
pub fn plan_writes(items: &[PushItem], steps: Vec<Step>) -> (Vec<PushOutcome>, Vec<Write>) {
    let mut out = Vec::with_capacity(items.len());
    let mut writes = Vec::new();
    let mut written = std::collections::HashSet::new();
    for (item, step) in items.iter().zip(steps) {
        let (status, heads) = match step {
            Step::Unchanged { heads } => (PushStatus::Unchanged, heads),
            Step::NeedFull => (PushStatus::NeedFull, Vec::new()),
            Step::Write { doc, heads, new_changes, projection, created } => {
                writes.push(Write {
                    id: item.id.clone(),
                    doc,
                    heads_json: serde_json::to_string(&heads).unwrap_or_default(),
                    new_changes,
                    projection,
                    created,
                    first: written.insert(item.id.clone()),
                });
                (PushStatus::Merged, heads)
            }
        };
        out.push(PushOutcome { id: item.id.clone(), status, heads });
    }
    (out, writes)
}

/// A stored document and its ward.
pub type Stored = (Vec<u8>, i64);

/// Merge a batch: `existing[i]` is what the registry has of `items[i]`.
/// Distinct records merge on every core; a record named twice in one batch
/// merges in order, the second time into the first result.
pub fn merge_batch(
    existing: Vec<Option<Stored>>,
    items: &[PushItem],
    device: &Device,
    today: NaiveDate,
) -> Result<Vec<Step>, StoreError> {
    let mut seen = std::collections::HashSet::new();
    if items.iter().all(|i| seen.insert(i.id.as_str())) {
        let pairs: Vec<(&PushItem, &Option<Stored>)> = items.iter().zip(existing.iter()).collect();
        return ehcard_core::par::map(&pairs, |(item, ex)| {
            merge_one(ex.as_ref().map(|(d, w)| (d.as_slice(), *w)), item, device, today)
        })
        .into_iter()
        .collect();
    }
    let mut latest: std::collections::HashMap<&str, Stored> = std::collections::HashMap::new();
    let mut steps = Vec::with_capacity(items.len());
    for (item, ex) in items.iter().zip(existing) {
        let current = latest.get(item.id.as_str()).cloned().or(ex);
        let step = merge_one(current.as_ref().map(|(d, w)| (d.as_slice(), *w)), item, device, today)?;
        if let Step::Write { doc, projection, .. } = &step {
            latest.insert(item.id.as_str(), (doc.clone(), projection.ward));
        }
        steps.push(step);
    }
    Ok(steps)
}

/// Merge one pushed record into what the registry has (`existing`: the
/// document and its ward), checking the device may touch it.
pub fn merge_one(
    existing: Option<(&[u8], i64)>,
    item: &PushItem,
    device: &Device,
    today: NaiveDate,
) -> Result<Step, StoreError> {
    let allowed = |ward: i64| device.wards.iter().any(|w| i64::from(*w) == ward);
    let wards = || device.wards.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", ");
    if let Some((_, ward)) = existing
        && !allowed(ward)
    {
        return Err(StoreError::OtherWard { id: item.id.clone(), ward, wards: wards() });
    }
    let corrupt = |e: ehcard_core::DocError| StoreError::Corrupt { id: item.id.clone(), message: e.to_string() };
    match merge_incoming(existing.map(|(d, _)| d), &item.changes, &server_actor(), today).map_err(corrupt)? {
        MergeOutcome::Unchanged { heads } => Ok(Step::Unchanged { heads: heads_to_hex(&heads) }),
        MergeOutcome::MissingDeps => Ok(Step::NeedFull),
        MergeOutcome::Invalid(errors) => Err(StoreError::Invalid { id: item.id.clone(), errors }),
        MergeOutcome::Merged(m) => {
            if m.record.meta.id.to_string() != item.id {
                return Err(StoreError::Corrupt {
                    id: item.id.clone(),
                    message: format!("the document is record {}", m.record.meta.id),
                });
            }
            let projection = Box::new(Projection::of(&m.record));
            if !allowed(projection.ward) {
                return Err(StoreError::OtherWard { id: item.id.clone(), ward: projection.ward, wards: wards() });
            }
            Ok(Step::Write {
                doc: m.doc,
                heads: heads_to_hex(&m.heads),
                new_changes: m.new_changes,
                projection,
                created: existing.is_none(),
            })
        }
    }
}

/// The registry's actor for field values set from the console (a
/// reviewer's choice in a merge, a settled conflict).
pub fn registry_edit_actor() -> ActorId {
    ActorId::from(b"ehcard-registry-edit".as_slice())
}

/// Field values to set, as a record's JSON shows them (`null` clears a
/// field), checked against the record format.
pub fn field_edits(
    kind: RecordKind,
    values: &[(String, serde_json::Value)],
    today: NaiveDate,
) -> Result<Vec<ehcard_core::doc::Edit>, StoreError> {
    use ehcard_core::doc::Edit;
    let mut edits = Vec::with_capacity(values.len());
    for (path, value) in values {
        let spec = ehcard_core::model::spec(kind, path)
            .ok_or_else(|| StoreError::Refused(format!("{path} is not a field of a {}", kind.as_str())))?;
        if value.is_null() {
            edits.push(Edit::Clear(spec.path));
            continue;
        }
        let v = ehcard_core::model::parse_json_value(spec, value, today)
            .map_err(|_| StoreError::Refused(format!("{value} is not a valid value for {path}")))?;
        edits.push(Edit::Set(spec.path, v));
    }
    Ok(edits)
}

/// Set field values on a loaded document as the registry, in one change
/// (a put settles a field in conflict). Refused if the record would no
/// longer be valid. Returns the fields that changed.
pub fn apply_field_values(
    doc: &mut ehcard_core::doc::RecordDoc,
    values: &[(String, serde_json::Value)],
    by: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let corrupt = |e: ehcard_core::DocError| StoreError::Corrupt { id: String::new(), message: e.to_string() };
    let before = doc.read().map_err(corrupt)?;
    let ctx = ehcard_core::EditContext::new(
        chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0).unwrap_or_default(),
        by.to_string(),
    );
    let edits = field_edits(before.meta.kind, values, ctx.today())?;
    let mut trial = doc.fork(&registry_edit_actor());
    trial.apply(&edits, &ctx).map_err(corrupt)?;
    let after = trial.read().map_err(corrupt)?;
    let errors = ehcard_core::model::validate(after.meta.kind, &after.fields);
    if !errors.is_empty() {
        return Err(StoreError::Invalid { id: before.meta.id.to_string(), errors });
    }
    doc.apply(&edits, &ctx).map_err(corrupt)?;
    let changed = values
        .iter()
        .map(|(p, _)| p)
        .filter(|p| before.fields.get(p) != after.fields.get(p) || before.conflicts.iter().any(|c| &c.field == *p))
        .cloned()
        .collect();
    Ok(changed)
}

/// Plan setting field values on a stored record as the registry (what a
/// reviewer settles in the console): the write — document, changes for the
/// feed, projection — or none when nothing changed, and the fields changed.
/// The store writes it like any registry change (tablets pull it).
pub fn plan_field_values(
    id: &str,
    stored: &[u8],
    values: &[(String, serde_json::Value)],
    by: &str,
    now: i64,
) -> Result<Option<(Write, Vec<String>)>, StoreError> {
    let corrupt = |e: ehcard_core::DocError| StoreError::Corrupt { id: id.to_string(), message: e.to_string() };
    let mut doc = ehcard_core::doc::RecordDoc::load(stored, &registry_edit_actor()).map_err(corrupt)?;
    let before = doc.heads();
    let changed = apply_field_values(&mut doc, values, by, now)?;
    if doc.heads() == before {
        return Ok(None);
    }
    let record = doc.read().map_err(corrupt)?;
    let write = Write {
        id: id.to_string(),
        new_changes: doc.save_after(&before),
        doc: doc.save(),
        heads_json: serde_json::to_string(&heads_to_hex(&doc.heads())).unwrap_or_default(),
        projection: Box::new(Projection::of(&record)),
        created: false,
        first: true,
    };
    Ok(Some((write, changed)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

    use chrono::DateTime;
    use ehcard_core::doc::{Edit, Origin, RecordDoc};
    use ehcard_core::merge::heads_to_hex;
    use ehcard_core::model::{FieldValue, Fields, RecordKind};
    use ehcard_core::{EditContext, RecordId, SeededEntropy};

    use super::{StoreError, entry_changes, server_actor};

    /// A feed entry written without bytes sends exactly the change it
    /// recorded: the document while it is unchanged, that one change after.
    #[test]
    fn an_entry_without_bytes_sends_the_change_it_recorded() {
        let ctx = EditContext::new(DateTime::from_timestamp(1_795_000_000, 0).unwrap(), "electoral-roll");
        let origin = Origin {
            id: RecordId::new_v7(1_795_000_000_000, &mut SeededEntropy::new(1)),
            health_id: None,
            enrolled_by: "electoral-roll".into(),
            enrolled_device: None,
            enrolled_at: ctx.now,
        };
        let mut fields = Fields::default();
        fields.0.insert("given_name", FieldValue::Text("Ram".into()));
        fields.0.insert("address.ward", FieldValue::Int(12));
        let actor = crate::roll::roll_actor();
        let (created, hash) = RecordDoc::create_change(RecordKind::Resident, &origin, &fields, &actor, &ctx);
        let heads = serde_json::to_string(&heads_to_hex(&[hash])).unwrap();
        let id = origin.id.to_string();

        // Unchanged: the document is the change.
        let sent = entry_changes(&id, Vec::new(), &heads, Some(created.clone()), Some(&heads)).unwrap();
        assert_eq!(sent, created);

        // Changed since: the creating change alone, not the later edit.
        let mut doc = RecordDoc::load(&created, &server_actor()).unwrap();
        doc.apply(&[Edit::Set("phone", FieldValue::Text("9876543210".into()))], &ctx).unwrap();
        let now = serde_json::to_string(&heads_to_hex(&doc.heads())).unwrap();
        let sent = entry_changes(&id, Vec::new(), &heads, Some(doc.save()), Some(&now)).unwrap();
        let mut received = RecordDoc::load(&sent, &server_actor()).unwrap();
        assert_eq!(received.heads(), vec![hash]);
        assert!(received.read().unwrap().fields.text("phone").is_none());

        // An entry with bytes sends them; one naming a change the document
        // lacks, or with no document, is refused as damage.
        assert_eq!(entry_changes(&id, vec![1, 2], &heads, None, None).unwrap(), vec![1, 2]);
        let other = serde_json::to_string(&heads_to_hex(&[automerge::ChangeHash([7; 32])])).unwrap();
        let refused = entry_changes(&id, Vec::new(), &other, Some(doc.save()), Some(&now));
        assert!(matches!(refused, Err(StoreError::Corrupt { .. })), "{refused:?}");
        assert!(matches!(entry_changes(&id, Vec::new(), &heads, None, None), Err(StoreError::Corrupt { .. })));
    }
}
