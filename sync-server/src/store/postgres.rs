//! The registry on PostgreSQL: the production store. A connection pool;
//! nothing in memory that another server instance must see, so several
//! instances can serve one database behind a load balancer.
//!
//! Feed order: concurrent pushes take a transaction-scoped advisory lock
//! before appending to the feed, so feed sequence numbers become visible in
//! order and a pull never skips an entry that commits later.

use bytes::BufMut;
use deadpool_postgres::{Config, Pool, PoolConfig, Runtime};
use ehcard_sync::wire::PullEntry;
use futures_util::SinkExt;
use tokio_postgres::NoTls;
use tokio_postgres::types::{IsNull, ToSql, Type};

use ehcard_match::Person;

use crate::dedup::{self, AuditEntry, MergeRow, NewAudit, NewPair, PairRow, Queued};
use crate::roll::{self, ImportOptions, KnownEntry, RollRow, Summary};
use crate::staff::Staff;

use super::{
    Device, DeviceStats, Document, NewDevice, Projection, PullPage, PushItem, PushOutcome, RegistryStore, Stats,
    StoreError, Write, merge_batch, pg_dedup, plan_writes,
};

pub(super) const MIGRATIONS: &[&str] = &[
    include_str!("../../../schema/migrations/server-postgres/0001_registry.sql"),
    include_str!("../../../schema/migrations/server-postgres/0002_roll.sql"),
    include_str!("../../../schema/migrations/server-postgres/0003_duplicates.sql"),
    include_str!("../../../schema/migrations/server-postgres/0004_staff.sql"),
    include_str!("../../../schema/migrations/server-postgres/0005_console.sql"),
    include_str!("../../../schema/migrations/server-postgres/0006_bytewise_text.sql"),
    include_str!("../../../schema/migrations/server-postgres/0007_lean_indexes.sql"),
];
/// One roll import at a time (they share the eHealth ID counter).
const ROLL_LOCK: i64 = FEED_LOCK + 2;
/// Rows per statement in the roll import's bulk writes.
const ROLL_CHUNK: usize = 5000;
/// Bytes per message of a bulk copy ([`copy_in`]).
const COPY_MESSAGE: usize = 256 * 1024;
pub(super) const FEED_LOCK: i64 = 0x6568_6361_7264; // "ehcard"

pub struct PgStore {
    pub(super) pool: Pool,
    /// Statistics being refreshed after a bulk write ([`RegistryStore::settle`]).
    analyzing: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let mut cfg = Config::new();
        cfg.url = Some(url.to_string());
        cfg.pool = Some(PoolConfig::new(32));
        let pool = cfg
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::Database(format!("cannot use {url}: {e}")))?;
        // Fail now, with the reason, rather than at the first request.
        drop(pool.get().await.map_err(|e| StoreError::Database(format!("cannot connect to PostgreSQL: {e}")))?);
        Ok(PgStore { pool, analyzing: std::sync::Mutex::default() })
    }
}

impl PgStore {
    async fn push_once(&self, device: &Device, items: &[PushItem], now: i64) -> Result<Vec<PushOutcome>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Lock the batch's rows in id order (no deadlock between two pushes).
        let mut ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows =
            tx.query("SELECT id, data, ward FROM docs WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids]).await?;
        let mut found: std::collections::HashMap<String, (Vec<u8>, i64)> = rows
            .into_iter()
            .map(|r| (r.get::<_, String>(0), (r.get::<_, Vec<u8>>(1), i64::from(r.get::<_, i32>(2)))))
            .collect();
        let existing: Vec<Option<(Vec<u8>, i64)>> = items.iter().map(|i| found.remove(&i.id)).collect();
        let steps = tokio::task::block_in_place(|| merge_batch(existing, items, device, today(now)))?;
        let (out, writes) = plan_writes(items, steps);
        // Each table is written with one statement per batch (arrays unnested).
        if !writes.is_empty() {
            let all: Vec<&Write> = writes.iter().collect();
            write_docs(&tx, &all).await?;
            write_projections(&tx, &all, &device.id).await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK]).await?;
            let documents: Vec<Document<'_>> = writes.iter().map(Document::of_write).collect();
            append_feed(&tx, &documents, &device.id, now).await?;
        }
        tx.execute("UPDATE devices SET last_sync_at = $2 WHERE id = $1", &[&device.id, &now]).await?;
        if let Some(a) = super::push_audit(device, items.len(), &writes, now) {
            pg_dedup::audit(&tx, &a).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn pull_page(&self, device: &Device, cursor: i64, limit: u32, now: i64) -> Result<PullPage, StoreError> {
        let client = self.pool.get().await?;
        let limit = limit.clamp(1, 5000);
        let wards: Vec<i32> = device.wards.iter().map(|w| i32::from(*w)).collect();
        let st = client
            .prepare_cached(
                // An entry without bytes reads its record's document (see
                // `entry_changes`).
                "SELECT f.seq, f.record_id, f.changes, f.heads, d.data, d.heads FROM feed f
                 LEFT JOIN docs d ON octet_length(f.changes) = 0 AND d.id = f.record_id
                 WHERE f.seq > $1 AND f.ward = ANY($2) AND f.device_id <> $3 ORDER BY f.seq LIMIT $4",
            )
            .await?;
        let rows = client.query(&st, &[&cursor, &wards, &device.id, &(i64::from(limit) + 1)]).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, heads): (String, &str) = (r.get(1), r.get(3));
            let changes = super::entry_changes(&id, r.get(2), heads, r.get(4), r.get(5))?;
            entries.push(PullEntry {
                seq: r.get(0),
                id,
                changes,
                heads: serde_json::from_str(heads).unwrap_or_default(),
            });
        }
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = entries.last().map(|e| e.seq).unwrap_or(cursor);
        client.execute("UPDATE devices SET last_sync_at = $2 WHERE id = $1", &[&device.id, &now]).await?;
        Ok(PullPage { entries, cursor: next, more })
    }
}

/// The last write of each record (a record may be pushed twice in a batch);
/// `first` is false on those that had an earlier write in the batch.
fn last_per_id<'a>(writes: &[&'a Write]) -> Vec<&'a Write> {
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, w) in writes.iter().enumerate() {
        last.insert(w.id.as_str(), i);
    }
    writes.iter().enumerate().filter(|(i, w)| last.get(w.id.as_str()) == Some(i)).map(|(_, w)| *w).collect()
}

/// Documents of a batch: new ones must not exist yet (another push creating
/// the same record at once makes this one start over), others are replaced.
async fn write_docs(tx: &deadpool_postgres::Transaction<'_>, writes: &[&Write]) -> Result<(), StoreError> {
    let writes = last_per_id(writes);
    for created in [true, false] {
        // A record named twice in a batch is written once, as an update.
        let part: Vec<&Write> = writes.iter().copied().filter(|w| (w.created && w.first) == created).collect();
        if part.is_empty() {
            continue;
        }
        let ids: Vec<&str> = part.iter().map(|w| w.id.as_str()).collect();
        let kinds: Vec<&str> = part.iter().map(|w| w.projection.kind.as_str()).collect();
        let wards: Vec<i32> = part.iter().map(|w| w.projection.ward as i32).collect();
        let docs: Vec<&[u8]> = part.iter().map(|w| w.doc.as_slice()).collect();
        let heads: Vec<&str> = part.iter().map(|w| w.heads_json.as_str()).collect();
        let conflict = if created {
            "ON CONFLICT (id) DO NOTHING"
        } else {
            "ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, data = excluded.data, heads = excluded.heads"
        };
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO docs(id, kind, ward, data, heads)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bytea[], $5::text[]) {conflict}"
                ),
                &[&ids, &kinds, &wards, &docs, &heads],
            )
            .await?;
        if created && n as usize != part.len() {
            return Err(StoreError::Raced(ids.join(", ")));
        }
    }
    Ok(())
}

/// Query columns of a batch, one statement per table.
async fn write_projections(
    tx: &deadpool_postgres::Transaction<'_>,
    writes: &[&Write],
    device: &str,
) -> Result<(), StoreError> {
    let writes = last_per_id(writes);
    let residents: Vec<&Write> =
        writes.iter().copied().filter(|w| w.projection.kind == ehcard_core::RecordKind::Resident).collect();
    if !residents.is_empty() {
        let col = |f: fn(&Projection) -> Option<&str>| -> Vec<Option<&str>> {
            residents.iter().map(|w| f(&w.projection)).collect()
        };
        let ids: Vec<&str> = residents.iter().map(|w| w.id.as_str()).collect();
        let wards: Vec<i32> = residents.iter().map(|w| w.projection.ward as i32).collect();
        let years: Vec<Option<i32>> = residents.iter().map(|w| w.projection.birth_year.map(|y| y as i32)).collect();
        let conflicts: Vec<bool> = residents.iter().map(|w| w.projection.has_conflicts).collect();
        let by: Vec<&str> = residents.iter().map(|w| w.projection.enrolled_by.as_str()).collect();
        let updated: Vec<i64> = residents.iter().map(|w| w.projection.updated_at).collect();
        tx.execute(
            "INSERT INTO residents(id, ward, household_id, health_id, given_name, family_name, name_hi, sex,
                birth_year, phone, voter_id, has_conflicts, enrolled_by, updated_at, status, merged_into,
                last_device_id)
             SELECT t.*, $17 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::bool[], $13::text[], $14::bigint[],
                $15::text[], $16::text[]) AS t
             ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, household_id = excluded.household_id,
                health_id = excluded.health_id, given_name = excluded.given_name,
                family_name = excluded.family_name, name_hi = excluded.name_hi, sex = excluded.sex,
                birth_year = excluded.birth_year, phone = excluded.phone, voter_id = excluded.voter_id,
                has_conflicts = excluded.has_conflicts, enrolled_by = excluded.enrolled_by,
                updated_at = excluded.updated_at, last_device_id = excluded.last_device_id,
                status = excluded.status, merged_into = excluded.merged_into",
            &[
                &ids,
                &wards,
                &col(|p| p.household_id.as_deref()),
                &col(|p| p.health_id.as_deref()),
                &col(|p| p.given_name.as_deref()),
                &col(|p| p.family_name.as_deref()),
                &col(|p| p.name_hi.as_deref()),
                &col(|p| p.sex.as_deref()),
                &years,
                &col(|p| p.phone.as_deref()),
                &col(|p| p.voter_id.as_deref()),
                &conflicts,
                &by,
                &updated,
                &col(|p| p.status.as_deref()),
                &col(|p| p.merged_into.as_deref()),
                &device,
            ],
        )
        .await?;
    }
    let households: Vec<&Write> =
        writes.iter().copied().filter(|w| w.projection.kind == ehcard_core::RecordKind::Household).collect();
    if !households.is_empty() {
        let col = |f: fn(&Projection) -> Option<&str>| -> Vec<Option<&str>> {
            households.iter().map(|w| f(&w.projection)).collect()
        };
        let ids: Vec<&str> = households.iter().map(|w| w.id.as_str()).collect();
        let wards: Vec<i32> = households.iter().map(|w| w.projection.ward as i32).collect();
        let members: Vec<i32> = households.iter().map(|w| w.projection.members as i32).collect();
        let updated: Vec<i64> = households.iter().map(|w| w.projection.updated_at).collect();
        tx.execute(
            "INSERT INTO households(id, ward, house, street, locality, head_id, members, updated_at, last_device_id)
             SELECT t.*, $9 FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::int[], $8::bigint[]) AS t
             ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, house = excluded.house,
                street = excluded.street, locality = excluded.locality, head_id = excluded.head_id,
                members = excluded.members, updated_at = excluded.updated_at,
                last_device_id = excluded.last_device_id",
            &[
                &ids,
                &wards,
                &col(|p| p.house.as_deref()),
                &col(|p| p.street.as_deref()),
                &col(|p| p.locality.as_deref()),
                &col(|p| p.head_id.as_deref()),
                &members,
                &updated,
                &device,
            ],
        )
        .await?;
    }
    pg_dedup::queue(tx, &writes).await?;
    Ok(())
}

fn device_row(r: &tokio_postgres::Row) -> Device {
    let wards: Vec<i32> = r.get(3);
    Device {
        id: r.get(0),
        number: r.get::<_, i32>(1) as u32,
        label: r.get(2),
        wards: wards.into_iter().filter_map(|w| u16::try_from(w).ok()).collect(),
        public_key: r.get(4),
        created_at: r.get(5),
        provisioned_at: r.get(6),
        revoked_at: r.get(7),
        last_sync_at: r.get(8),
        code_expires_at: r.get(9),
    }
}

const DEVICE_COLS: &str =
    "id, number, label, wards, public_key, created_at, provisioned_at, revoked_at, last_sync_at, code_expires_at";

fn today(now: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(now, 0).unwrap_or_default().date_naive()
}

/// Write a planned merge in the caller's transaction (taking the feed
/// lock): the documents, the merge row (what undo needs), the pair decided
/// and the duplicate's other pairs superseded. The caller audits it.
pub(super) async fn write_merge(
    tx: &deadpool_postgres::Transaction<'_>,
    survivor: &str,
    duplicate: &str,
    writes: &[Write],
    combination: ehcard_core::combine::Combination,
    by: &str,
    now: i64,
) -> Result<MergeRow, StoreError> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK]).await?;
    write_registry(tx, writes, now).await?;
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
    row.id = pg_dedup::insert_merge(tx, &row).await?;
    pg_dedup::decide(tx, survivor, duplicate, "merged", by, now).await?;
    pg_dedup::supersede(tx, duplicate, by, now).await?;
    Ok(row)
}

/// Write the registry's own changes (roll import, merges): documents,
/// projections, and feed entries attributed to the registry, in the order
/// given. New records are copied in ([`copy_new`]); changed ones are
/// upserted. The caller holds the feed lock.
pub(super) async fn write_registry(
    tx: &deadpool_postgres::Transaction<'_>,
    writes: &[Write],
    now: i64,
) -> Result<(), StoreError> {
    let (new, changed): (Vec<&Write>, Vec<&Write>) = writes.iter().partition(|w| w.created && w.first);
    if !new.is_empty() {
        copy_new(tx, &new).await?;
    }
    if !changed.is_empty() {
        write_docs(tx, &changed).await?;
        write_projections(tx, &changed, dedup::FEED_DEVICE).await?;
    }
    let documents: Vec<Document<'_>> = writes.iter().map(Document::of_write).collect();
    append_feed(tx, &documents, dedup::FEED_DEVICE, now).await
}

/// Feed entries of `documents`, in their order, attributed to `device`. The
/// caller holds the feed lock, so nobody else draws from the feed's
/// sequence meanwhile: the entries' numbers are taken from it in one call
/// and written with the rows, where a default would call `nextval` once a
/// row (about a fifth of copying a roll import's feed).
async fn append_feed(
    tx: &deadpool_postgres::Transaction<'_>,
    documents: &[Document<'_>],
    device: &str,
    now: i64,
) -> Result<(), StoreError> {
    if documents.is_empty() {
        return Ok(());
    }
    let n = i64::try_from(documents.len()).map_err(|_| StoreError::Database("too many feed entries at once".into()))?;
    let last: i64 = tx
        .query_one(
            "SELECT setval(pg_get_serial_sequence('feed', 'seq'), nextval(pg_get_serial_sequence('feed', 'seq')) + $1 - 1)",
            &[&n],
        )
        .await?
        .get(0);
    let seqs: Vec<i64> = (last - n + 1..=last).collect();
    let wards: Vec<i32> = documents.iter().map(|d| d.ward as i32).collect();
    copy_in(
        tx,
        "COPY feed(seq, record_id, ward, device_id, changes, heads, received_at) FROM STDIN BINARY",
        &[Type::INT8, Type::TEXT, Type::INT4, Type::TEXT, Type::BYTEA, Type::TEXT, Type::INT8],
        documents.iter().zip(&wards).zip(&seqs).map(|((d, ward), seq)| -> [&(dyn ToSql + Sync); 7] {
            [seq, &d.id, ward, &device, &d.changes, &d.heads, &now]
        }),
    )
    .await?;
    Ok(())
}

/// Rows into one table with `COPY … FROM STDIN BINARY`: no statement per
/// row, no arrays to take apart, and PostgreSQL inserts them a page at a
/// time. Only for rows that cannot conflict (COPY has no ON CONFLICT). No
/// rows: no statement. The rows are encoded here, in PostgreSQL's binary
/// copy format, into messages of [`COPY_MESSAGE`] bytes: one hand-over to
/// the connection and one socket write for each, where tokio-postgres's
/// own writer sends one every 4 KiB.
async fn copy_in<'a, const N: usize>(
    tx: &deadpool_postgres::Transaction<'_>,
    statement: &str,
    types: &[Type; N],
    rows: impl ExactSizeIterator<Item = [&'a (dyn ToSql + Sync); N]>,
) -> Result<u64, StoreError> {
    if rows.len() == 0 {
        return Ok(0);
    }
    let sink = tx.copy_in::<str, bytes::Bytes>(statement).await?;
    let mut sink = std::pin::pin!(sink);
    let mut buf = bytes::BytesMut::with_capacity(COPY_MESSAGE + COPY_MESSAGE / 4);
    // Signature, flags, header extension length.
    buf.put_slice(b"PGCOPY\n\xff\r\n\0");
    buf.put_i32(0);
    buf.put_i32(0);
    let fields = i16::try_from(N).map_err(|_| StoreError::Database(format!("{N} columns in one COPY")))?;
    for row in rows {
        buf.put_i16(fields);
        for (value, ty) in row.iter().zip(types) {
            let at = buf.len();
            buf.put_i32(0);
            let len = match value.to_sql_checked(ty, &mut buf) {
                Ok(IsNull::Yes) => -1,
                Ok(IsNull::No) => i32::try_from(buf.len() - at - 4)
                    .map_err(|_| StoreError::Database(format!("a value of more than 2 GiB for {statement}")))?,
                Err(e) => return Err(StoreError::Database(format!("a value for {statement}: {e}"))),
            };
            buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
        }
        if buf.len() >= COPY_MESSAGE {
            sink.send(buf.split().freeze()).await?;
            buf.reserve(COPY_MESSAGE + COPY_MESSAGE / 4);
        }
    }
    buf.put_i16(-1);
    sink.send(buf.freeze()).await?;
    Ok(sink.finish().await?)
}

/// Records the registry makes (a roll import's new residents and
/// households): their ids are new UUIDv7s, so documents, query columns and
/// the match queue are copied in. An id already taken fails the copy (the
/// database is damaged) and the caller's transaction writes nothing.
async fn copy_new(tx: &deadpool_postgres::Transaction<'_>, new: &[&Write]) -> Result<(), StoreError> {
    let documents: Vec<Document<'_>> = new.iter().map(|w| Document::of_write(w)).collect();
    copy_documents(tx, &documents).await?;
    let rows: Vec<(&str, &Projection)> = new.iter().map(|w| (w.id.as_str(), &*w.projection)).collect();
    copy_rows(tx, &rows).await
}

/// New records' documents (see [`copy_new`]).
async fn copy_documents(tx: &deadpool_postgres::Transaction<'_>, documents: &[Document<'_>]) -> Result<(), StoreError> {
    let kinds: Vec<&str> = documents.iter().map(|d| d.kind.as_str()).collect();
    let wards: Vec<i32> = documents.iter().map(|d| d.ward as i32).collect();
    copy_in(
        tx,
        "COPY docs(id, kind, ward, data, heads) FROM STDIN BINARY",
        &[Type::TEXT, Type::TEXT, Type::INT4, Type::BYTEA, Type::TEXT],
        documents
            .iter()
            .zip(&kinds)
            .zip(&wards)
            .map(|((d, kind), ward)| -> [&(dyn ToSql + Sync); 5] { [&d.id, kind, ward, &d.doc, &d.heads] }),
    )
    .await?;
    Ok(())
}

/// New records' query rows, (id, projection), and residents' places in
/// the match queue (see [`copy_new`]).
async fn copy_rows(tx: &deadpool_postgres::Transaction<'_>, rows: &[(&str, &Projection)]) -> Result<(), StoreError> {
    let residents: Vec<(&str, &Projection, i32, Option<i32>)> = rows
        .iter()
        .filter(|(_, p)| p.kind == ehcard_core::RecordKind::Resident)
        .map(|(id, p)| (*id, *p, p.ward as i32, p.birth_year.and_then(|y| i32::try_from(y).ok())))
        .collect();
    copy_in(
        tx,
        "COPY residents(id, ward, household_id, health_id, given_name, family_name, name_hi, sex, birth_year,
            phone, voter_id, has_conflicts, enrolled_by, updated_at, status, merged_into, last_device_id)
         FROM STDIN BINARY",
        &[
            Type::TEXT,
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
            Type::TEXT,
            Type::INT8,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
        ],
        residents.iter().map(|(id, p, ward, year)| -> [&(dyn ToSql + Sync); 17] {
            [
                id,
                ward,
                &p.household_id,
                &p.health_id,
                &p.given_name,
                &p.family_name,
                &p.name_hi,
                &p.sex,
                year,
                &p.phone,
                &p.voter_id,
                &p.has_conflicts,
                &p.enrolled_by,
                &p.updated_at,
                &p.status,
                &p.merged_into,
                &dedup::FEED_DEVICE,
            ]
        }),
    )
    .await?;
    let households: Vec<(&str, &Projection, i32, i32)> = rows
        .iter()
        .filter(|(_, p)| p.kind == ehcard_core::RecordKind::Household)
        .map(|(id, p)| (*id, *p, p.ward as i32, i32::try_from(p.members).unwrap_or(i32::MAX)))
        .collect();
    copy_in(
        tx,
        "COPY households(id, ward, house, street, locality, head_id, members, updated_at, last_device_id)
         FROM STDIN BINARY",
        &[Type::TEXT, Type::INT4, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT4, Type::INT8, Type::TEXT],
        households.iter().map(|(id, p, ward, members)| -> [&(dyn ToSql + Sync); 9] {
            [id, ward, &p.house, &p.street, &p.locality, &p.head_id, members, &p.updated_at, &dedup::FEED_DEVICE]
        }),
    )
    .await?;
    let queued: Vec<(Option<&str>, String)> = residents.iter().map(|(_, p, _, _)| p.queue_row()).collect();
    copy_in(
        tx,
        "COPY match_queue(record_id, queued_at, person, keys) FROM STDIN BINARY",
        &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT],
        residents
            .iter()
            .zip(&queued)
            .map(|((id, p, _, _), (person, keys))| -> [&(dyn ToSql + Sync); 4] { [id, &p.updated_at, person, keys] }),
    )
    .await?;
    Ok(())
}

/// The roll's own rows of an import: entries the registry has not seen
/// are copied in, entries it knows are updated, new households' keys are
/// copied in.
async fn record_roll(
    tx: &deadpool_postgres::Transaction<'_>,
    entries: &[roll::EntryWrite],
    households: &[(String, String)],
    known: &roll::Known,
    now: i64,
) -> Result<(), StoreError> {
    let (new, seen): (Vec<&roll::EntryWrite>, Vec<&roll::EntryWrite>) =
        entries.iter().partition(|e| !known.entries.contains_key(&e.epic));
    copy_in(
        tx,
        "COPY roll_entries(epic, record_id, household_key, row_hash, imported_at) FROM STDIN BINARY",
        &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8],
        new.iter()
            .map(|e| -> [&(dyn ToSql + Sync); 5] { [&e.epic, &e.record_id, &e.household_key, &e.row_hash, &now] }),
    )
    .await?;
    for chunk in seen.chunks(ROLL_CHUNK) {
        let epics: Vec<&str> = chunk.iter().map(|e| e.epic.as_str()).collect();
        let ids: Vec<&str> = chunk.iter().map(|e| e.record_id.as_str()).collect();
        let keys: Vec<&str> = chunk.iter().map(|e| e.household_key.as_str()).collect();
        let hashes: Vec<&str> = chunk.iter().map(|e| e.row_hash.as_str()).collect();
        tx.execute(
            "UPDATE roll_entries SET record_id = t.r, household_key = t.k, row_hash = t.h, imported_at = $5
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(e, r, k, h)
             WHERE roll_entries.epic = t.e",
            &[&epics, &ids, &keys, &hashes, &now],
        )
        .await?;
    }
    copy_in(
        tx,
        "COPY roll_households(key, household_id) FROM STDIN BINARY",
        &[Type::TEXT, Type::TEXT],
        households.iter().map(|(key, id)| -> [&(dyn ToSql + Sync); 2] { [key, id] }),
    )
    .await?;
    Ok(())
}

/// About how many documents the registry holds: the planner's estimate
/// (kept by autovacuum), or a count where there is none yet.
async fn docs_estimate(tx: &deadpool_postgres::Transaction<'_>) -> Result<u64, StoreError> {
    let row = tx
        .query_one(
            "SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint ELSE (SELECT count(*) FROM docs) END
             FROM pg_class c WHERE c.oid = 'docs'::regclass",
            &[],
        )
        .await?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Drop the secondary indexes of `tables`, and the primary keys of
/// `keyed`, in the caller's transaction and return the statements that
/// make them again (PostgreSQL's own definition of each, keys first), for
/// a bulk write that builds them again before it commits. Other unique
/// indexes stay, and so do [`roll::UNTOUCHED_INDEXES`]. A table's primary
/// key may go only while nothing in the transaction looks rows up by it or
/// upserts on it; making it again
/// checks every row, so a key written twice fails the import. Until the
/// transaction ends, other sessions wait to read these tables (a large
/// import holds them).
async fn drop_indexes(
    tx: &deadpool_postgres::Transaction<'_>,
    tables: &[&str],
    keyed: &[&str],
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = tx
        .query(
            "SELECT CASE WHEN i.indisprimary
                    THEN format('ALTER TABLE %I.%I DROP CONSTRAINT %I', n.nspname, t.relname, c.conname)
                    ELSE format('DROP INDEX %I.%I', n.nspname, ic.relname) END,
                CASE WHEN i.indisprimary
                    THEN format('ALTER TABLE %I.%I ADD CONSTRAINT %I %s',
                                n.nspname, t.relname, c.conname, pg_get_constraintdef(c.oid))
                    ELSE pg_get_indexdef(i.indexrelid) END,
                t.relname::text
             FROM pg_index i
             JOIN pg_class ic ON ic.oid = i.indexrelid
             JOIN pg_class t ON t.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = ic.relnamespace
             LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype = 'p'
             WHERE (i.indrelid = ANY (ARRAY(SELECT unnest($1::text[])::regclass))
                    AND NOT i.indisunique AND NOT i.indisprimary AND ic.relname <> ALL ($3::text[]))
                OR (i.indrelid = ANY (ARRAY(SELECT unnest($2::text[])::regclass)) AND i.indisprimary)
             ORDER BY i.indisprimary DESC, ic.relname",
            &[&tables, &keyed, &&roll::UNTOUCHED_INDEXES[..]],
        )
        .await?;
    let mut made = Vec::with_capacity(rows.len());
    for r in rows {
        tx.batch_execute(r.get::<_, &str>(0)).await?;
        made.push((r.get::<_, String>(2), r.get::<_, String>(1)));
    }
    Ok(made)
}

/// Dropped indexes built again, (table, statement), one group of them,
/// with memory to sort in.
async fn build_indexes(
    tx: &deadpool_postgres::Transaction<'_>,
    indexes: &[(String, String)],
    stages: &roll::Stages<'_>,
) -> Result<(), StoreError> {
    if indexes.is_empty() {
        return Ok(());
    }
    tx.batch_execute("SET LOCAL maintenance_work_mem = '512MB'").await?;
    for (_, sql) in indexes {
        stages.indexing();
        tx.batch_execute(sql).await?;
    }
    Ok(())
}

impl PgStore {
    /// Refresh the planner's statistics of the tables a bulk write filled,
    /// after it committed, on a connection of its own (like autovacuum's
    /// analyze, which would come to them later): readers are not held up
    /// and the import's transaction is not made longer. Only what is queried
    /// by more than its key (a document is read by id; the matcher empties
    /// its queue in order).
    fn analyze_in_background(&self) {
        let pool = self.pool.clone();
        let task = tokio::spawn(async move {
            let analyzed = async {
                pool.get().await?.batch_execute("ANALYZE residents, households, feed").await?;
                Ok::<_, StoreError>(())
            };
            match analyzed.await {
                Ok(()) => tracing::debug!("statistics refreshed after a large write"),
                Err(e) => {
                    tracing::warn!(error = %e, "refreshing statistics after a large write failed; autovacuum will")
                }
            }
        });
        if let Ok(mut running) = self.analyzing.lock() {
            running.retain(|t| !t.is_finished());
            running.push(task);
        }
    }
}

/// A resident's document, locked for the rest of the transaction.
pub(super) async fn resident_doc(tx: &deadpool_postgres::Transaction<'_>, id: &str) -> Result<Vec<u8>, StoreError> {
    let row = tx.query_opt("SELECT data FROM docs WHERE id = $1 AND kind = 'resident' FOR UPDATE", &[&id]).await?;
    row.map(|r| r.get::<_, Vec<u8>>(0)).ok_or_else(|| StoreError::NoRecord(id.to_string()))
}

#[async_trait::async_trait]
impl RegistryStore for PgStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        client.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)").await?;
        let tx = client.transaction().await?;
        // One migrator at a time, even with several servers starting.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(FEED_LOCK + 1)]).await?;
        let version: i32 =
            tx.query_opt("SELECT version FROM schema_version", &[]).await?.map(|r| r.get(0)).unwrap_or(0);
        if version as usize > MIGRATIONS.len() {
            return Err(StoreError::TooNew(i64::from(version)));
        }
        for sql in MIGRATIONS.iter().skip(version as usize) {
            tx.batch_execute(sql).await?;
        }
        tx.execute("DELETE FROM schema_version", &[]).await?;
        tx.execute("INSERT INTO schema_version(version) VALUES ($1)", &[&(MIGRATIONS.len() as i32)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn add_device(&self, new: NewDevice) -> Result<Device, StoreError> {
        let client = self.pool.get().await?;
        let wards: Vec<i32> = new.wards.iter().map(|w| i32::from(*w)).collect();
        let number: i64 = client.query_one("SELECT nextval('device_numbers')", &[]).await?.get(0);
        if number >= i64::from(*ehcard_core::ids::REGISTRY_DEVICES.start()) {
            return Err(StoreError::NoDeviceNumbers);
        }
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO devices(id, number, label, wards, code_hash, code_expires_at, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {DEVICE_COLS}"
                ),
                &[&new.id, &(number as i32), &new.label, &wards, &new.code_hash, &new.code_expires_at, &new.now],
            )
            .await?;
        Ok(device_row(&row))
    }

    async fn redeem_code(&self, code_hash: &[u8], public_key: &[u8], now: i64) -> Result<Device, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT id, code_expires_at, revoked_at FROM devices WHERE code_hash = $1 FOR UPDATE",
                &[&code_hash],
            )
            .await?;
        let Some(row) = row else { return Err(StoreError::UnknownCode) };
        let (id, expires, revoked): (String, Option<i64>, Option<i64>) = (row.get(0), row.get(1), row.get(2));
        if revoked.is_some() {
            return Err(StoreError::UnknownCode);
        }
        if expires.is_some_and(|e| e < now) {
            return Err(StoreError::CodeExpired);
        }
        let row = tx
            .query_one(
                &format!(
                    "UPDATE devices SET public_key = $2, provisioned_at = $3, code_hash = NULL, code_expires_at = NULL
                     WHERE id = $1 RETURNING {DEVICE_COLS}"
                ),
                &[&id, &public_key, &now],
            )
            .await?;
        let device = device_row(&row);
        pg_dedup::audit(&tx, &super::provision_audit(&device, now)).await?;
        tx.commit().await?;
        Ok(device)
    }

    async fn device(&self, id: &str) -> Result<Option<Device>, StoreError> {
        let client = self.pool.get().await?;
        let st = client.prepare_cached(&format!("SELECT {DEVICE_COLS} FROM devices WHERE id = $1")).await?;
        Ok(client.query_opt(&st, &[&id]).await?.map(|r| device_row(&r)))
    }

    async fn devices(&self) -> Result<Vec<Device>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(&format!("SELECT {DEVICE_COLS} FROM devices ORDER BY number"), &[]).await?;
        Ok(rows.iter().map(device_row).collect())
    }

    async fn revoke_device(&self, id: &str, now: i64) -> Result<Device, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!(
                    "UPDATE devices SET revoked_at = coalesce(revoked_at, $2), code_hash = NULL WHERE id = $1
                     RETURNING {DEVICE_COLS}"
                ),
                &[&id, &now],
            )
            .await?;
        row.map(|r| device_row(&r)).ok_or_else(|| StoreError::NoDevice(id.to_string()))
    }

    async fn remember_nonce(&self, device: &str, nonce: &str, now: i64) -> Result<bool, StoreError> {
        let client = self.pool.get().await?;
        let cutoff = now - 2 * ehcard_sync::auth::MAX_SKEW_SECS;
        let del = client.prepare_cached("DELETE FROM nonces WHERE device_id = $1 AND seen_at < $2").await?;
        client.execute(&del, &[&device, &cutoff]).await?;
        let ins = client
            .prepare_cached("INSERT INTO nonces(device_id, nonce, seen_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .await?;
        Ok(client.execute(&ins, &[&device, &nonce, &now]).await? == 1)
    }

    async fn push(&self, device: &Device, items: Vec<PushItem>, now: i64) -> Result<Vec<PushOutcome>, StoreError> {
        // A record created by two pushes at once: the loser starts over and
        // merges into the winner's document.
        for _ in 0..3 {
            match self.push_once(device, &items, now).await {
                Err(StoreError::Raced(_)) => continue,
                other => return other,
            }
        }
        self.push_once(device, &items, now).await
    }

    async fn pull(&self, device: &Device, cursor: i64, limit: u32, now: i64) -> Result<PullPage, StoreError> {
        self.pull_page(device, cursor, limit, now).await
    }
    async fn record(&self, id: &str) -> Result<Option<(Vec<u8>, Vec<String>, i64)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt("SELECT data, heads, ward FROM docs WHERE id = $1", &[&id]).await?;
        Ok(row.map(|r| {
            (r.get(0), serde_json::from_str(r.get::<_, &str>(1)).unwrap_or_default(), i64::from(r.get::<_, i32>(2)))
        }))
    }

    async fn stats(&self) -> Result<Stats, StoreError> {
        let client = self.pool.get().await?;
        let count = |sql: &'static str| {
            let client = &client;
            async move { Ok::<i64, StoreError>(client.query_one(sql, &[]).await?.get(0)) }
        };
        let mut s = Stats {
            residents: count("SELECT count(*) FROM residents").await?,
            households: count("SELECT count(*) FROM households").await?,
            with_conflicts: count("SELECT count(*) FROM residents WHERE has_conflicts").await?,
            feed_entries: count("SELECT count(*) FROM feed").await?,
            ..Stats::default()
        };
        for r in client.query("SELECT ward, count(*) FROM residents GROUP BY ward", &[]).await? {
            s.residents_by_ward.insert(i64::from(r.get::<_, i32>(0)), r.get(1));
        }
        let rows = client
            .query(
                &format!(
                    "SELECT {DEVICE_COLS}, (SELECT count(*) FROM residents r WHERE r.last_device_id = d.id)
                     FROM devices d ORDER BY number"
                ),
                &[],
            )
            .await?;
        for r in rows {
            let d = device_row(&r);
            s.devices.push(DeviceStats {
                status: d.status().to_string(),
                id: d.id,
                number: d.number,
                label: d.label,
                wards: d.wards,
                records_last_changed: r.get(10),
                last_sync_at: d.last_sync_at,
            });
        }
        Ok(s)
    }

    async fn import_roll(&self, rows: Vec<RollRow>, mut options: ImportOptions) -> Result<Summary, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ROLL_LOCK]).await?;
        let total_entries = tx.query_one("SELECT count(*) FROM roll_entries", &[]).await?.get::<_, i64>(0) as u64;
        let mut known = roll::Known { total_entries, ..roll::Known::default() };
        // A first extract has nothing to look up.
        let entries_known = if known.total_entries > 0 { rows.as_slice() } else { &[] };
        for chunk in entries_known.chunks(ROLL_CHUNK) {
            let epics: Vec<&str> = chunk.iter().map(|r| r.epic.as_str()).collect();
            let found = tx
                .query(
                    "SELECT epic, record_id, household_key, row_hash FROM roll_entries WHERE epic = ANY($1)",
                    &[&epics],
                )
                .await?;
            for r in found {
                let e = KnownEntry { record_id: r.get(1), household_key: r.get(2), row_hash: r.get(3) };
                known.entries.insert(r.get(0), e);
            }
        }
        let any_household = tx.query_one("SELECT EXISTS (SELECT 1 FROM roll_households)", &[]).await?.get::<_, bool>(0);
        let keys = if any_household { roll::household_keys(&rows, &known.entries) } else { Vec::new() };
        for chunk in keys.chunks(ROLL_CHUNK) {
            for r in tx.query("SELECT key, household_id FROM roll_households WHERE key = ANY($1)", &[&chunk]).await? {
                known.households.insert(r.get(0), r.get(1));
            }
        }
        known.next_seq =
            tx.query_one("SELECT next_seq FROM roll_state WHERE id = 1", &[]).await?.get::<_, i64>(0) as u64;
        let mut docs = std::collections::HashMap::new();
        let needed = roll::docs_needed(&rows, &known);
        for chunk in needed.chunks(ROLL_CHUNK) {
            // Locked like a push locks them: a tablet's push waits for the import.
            for r in tx.query("SELECT id, data FROM docs WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&chunk]).await? {
                docs.insert(r.get::<_, String>(0), r.get::<_, Vec<u8>>(1));
            }
        }
        let now = options.now.timestamp();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK]).await?;
        // Documents are built on every core while this thread writes the
        // previous chunk (waiting on PostgreSQL in between).
        let progress = options.progress.clone();
        let (next_seq, summary, rebuilt) = tokio::task::block_in_place(|| {
            let mut plan = roll::plan(&rows, &known, &docs, &mut options)?;
            let total = plan.writes() as u64;
            // Primary keys nothing in this import looks up or upserts on:
            // the feed and the roll's households are only appended to; the
            // rest only when every row is new.
            let mut keyed = vec!["feed", "roll_households"];
            if !plan.updates_entries(&known) {
                keyed.push("roll_entries");
            }
            let edits = plan.edits_existing();
            if !edits {
                keyed.extend(roll::BULK_TABLES.iter().copied().filter(|t| *t != "feed"));
            }
            let entries = std::mem::take(&mut plan.entries);
            let households = std::mem::take(&mut plan.households);
            let (next_seq, summary) = (plan.next_seq, plan.summary.clone());
            let runtime = tokio::runtime::Handle::current();
            let existing = runtime.block_on(docs_estimate(&tx))?;
            let dropped = if roll::rebuild_indexes(options.indexes, total, existing) {
                runtime.block_on(drop_indexes(&tx, &roll::BULK_TABLES, &keyed))?
            } else {
                Vec::new()
            };
            let rebuilt = !dropped.is_empty();
            let mut recorded = false;
            // The roll's own rows go first, while the builders make the
            // first chunks (the database is idle otherwise).
            let mut record = || -> Result<(), StoreError> {
                if !std::mem::replace(&mut recorded, true) {
                    runtime.block_on(record_roll(&tx, &entries, &households, &known, now))?;
                }
                Ok(())
            };
            let stages = roll::Stages::new(progress.as_ref(), total, dropped.len());
            if rebuilt && !edits {
                // Every record is new: the query rows first, then their
                // indexes, built on one core while the builders encode the
                // documents on the others (PostgreSQL's parallel workers
                // would only take that core from them), then the
                // documents with their feed entries and the indexes of
                // those two tables.
                runtime.block_on(tx.batch_execute("SET LOCAL max_parallel_maintenance_workers = 0"))?;
                let (later, first): (Vec<_>, Vec<_>) =
                    dropped.into_iter().partition(|(table, _)| table == "docs" || table == "feed");
                plan.build_in_passes(
                    &mut |chunk| {
                        record()?;
                        let rows: Vec<(&str, &Projection)> = chunk.iter().map(|(id, p)| (id.as_str(), p)).collect();
                        runtime.block_on(copy_rows(&tx, &rows))?;
                        stages.written("writing", chunk.len());
                        Ok(())
                    },
                    &mut || {
                        stages.next_pass();
                        runtime.block_on(build_indexes(&tx, &first, &stages))
                    },
                    &mut |chunk| {
                        if let Some(d) = chunk.iter().find(|d| !d.created) {
                            return Err(StoreError::Database(format!(
                                "record {} is not new in a pass for new ones",
                                d.id
                            )));
                        }
                        let documents: Vec<Document<'_>> = chunk.iter().map(Document::of_document).collect();
                        runtime.block_on(copy_documents(&tx, &documents))?;
                        runtime.block_on(append_feed(&tx, &documents, dedup::FEED_DEVICE, now))?;
                        stages.written("documents", chunk.len());
                        Ok(())
                    },
                )?;
                record()?;
                runtime.block_on(build_indexes(&tx, &later, &stages))?;
            } else {
                plan.build(&mut |chunk| {
                    record()?;
                    runtime.block_on(write_registry(&tx, &chunk, now))?;
                    stages.written("writing", chunk.len());
                    Ok(())
                })?;
                record()?;
                runtime.block_on(build_indexes(&tx, &dropped, &stages))?;
            }
            Ok::<_, StoreError>((next_seq, summary, rebuilt))
        })?;
        tx.execute("UPDATE roll_state SET next_seq = $1 WHERE id = 1", &[&(next_seq as i64)]).await?;
        if let Some(progress) = &options.progress {
            progress("committing", 0, 1);
        }
        tx.commit().await?;
        if rebuilt {
            self.analyze_in_background();
        }
        Ok(summary)
    }

    async fn settle(&self) {
        let running = self.analyzing.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default();
        for task in running {
            let _ = task.await;
        }
    }

    async fn people(&self, ids: Vec<String>) -> Result<Vec<Person>, StoreError> {
        pg_dedup::people(&self.pool.get().await?, &ids).await
    }

    async fn people_by_keys(&self, keys: Vec<String>, per_key: u32) -> Result<Vec<Person>, StoreError> {
        pg_dedup::people_by_keys(&self.pool.get().await?, &keys, per_key).await
    }

    async fn queued(&self, limit: u32) -> Result<Vec<Queued>, StoreError> {
        pg_dedup::queued(&self.pool.get().await?, limit).await
    }

    async fn index_queued(&self, items: Vec<Queued>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        pg_dedup::index_queued(&tx, &items).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn dequeue(&self, items: Vec<Queued>) -> Result<(), StoreError> {
        pg_dedup::dequeue(&self.pool.get().await?, &items).await
    }

    async fn all_people(&self) -> Result<Vec<Person>, StoreError> {
        pg_dedup::all_people(&self.pool.get().await?).await
    }

    async fn add_pairs(&self, pairs: Vec<NewPair>, now: i64) -> Result<usize, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut n = 0;
        for chunk in pairs.chunks(ROLL_CHUNK) {
            n += pg_dedup::add_pairs(&tx, chunk, now).await?;
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn pairs(&self, status: Option<String>, limit: u32) -> Result<Vec<PairRow>, StoreError> {
        pg_dedup::pairs(&self.pool.get().await?, status.as_deref(), limit).await
    }

    async fn not_duplicate(&self, a: &str, b: &str, by: &str, now: i64) -> Result<PairRow, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        resident_doc(&tx, a).await?;
        resident_doc(&tx, b).await?;
        if a == b {
            return Err(StoreError::Refused("a record is not a duplicate of itself".into()));
        }
        pg_dedup::decide(&tx, a, b, "not_duplicate", by, now).await?;
        pg_dedup::audit(&tx, &dedup::decision_audit("not_duplicate", a, b, by, now)).await?;
        let row = pg_dedup::pair(&tx, a, b).await?.ok_or_else(|| StoreError::NoRecord(format!("{a} / {b}")))?;
        tx.commit().await?;
        Ok(row)
    }

    async fn merge_records(&self, survivor: &str, duplicate: &str, by: &str, now: i64) -> Result<MergeRow, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Lock in id order, as pushes do.
        let (first, second) = if survivor < duplicate { (survivor, duplicate) } else { (duplicate, survivor) };
        let a = resident_doc(&tx, first).await?;
        let b = resident_doc(&tx, second).await?;
        let (s, d) = if survivor < duplicate { (a, b) } else { (b, a) };
        let (writes, combination) =
            tokio::task::block_in_place(|| dedup::plan_merge((survivor, &s), (duplicate, &d), by, now))?;
        let row = write_merge(&tx, survivor, duplicate, &writes, combination, by, now).await?;
        pg_dedup::audit(&tx, &dedup::merge_audit("merge", &row, by, now, &[])).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn undo_merge(&self, duplicate: &str, by: &str, now: i64) -> Result<(MergeRow, Vec<String>), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let merge = pg_dedup::open_merge(&tx, duplicate).await?;
        let merge = match merge {
            Some(m) => m,
            None => {
                resident_doc(&tx, duplicate).await?;
                return Err(dedup::not_merged(duplicate));
            }
        };
        let (first, second) = if merge.survivor.as_str() < duplicate {
            (merge.survivor.as_str(), duplicate)
        } else {
            (duplicate, merge.survivor.as_str())
        };
        let a = resident_doc(&tx, first).await?;
        let b = resident_doc(&tx, second).await?;
        let (s, d) = if merge.survivor.as_str() < duplicate { (a, b) } else { (b, a) };
        let (writes, left) = tokio::task::block_in_place(|| {
            dedup::plan_undo((&merge.survivor, &s), (duplicate, &d), &merge.combination, by, now)
        })?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK]).await?;
        write_registry(&tx, &writes, now).await?;
        pg_dedup::mark_undone(&tx, merge.id, by, now).await?;
        pg_dedup::decide(&tx, &merge.survivor, duplicate, "pending", by, now).await?;
        pg_dedup::audit(&tx, &dedup::merge_audit("unmerge", &merge, by, now, &left)).await?;
        tx.commit().await?;
        Ok((merge, left))
    }

    async fn resolve_health_id(&self, health: &str) -> Result<Option<(String, String)>, StoreError> {
        pg_dedup::resolve_health_id(&self.pool.get().await?, health).await
    }

    async fn audit(&self, entry: NewAudit) -> Result<(), StoreError> {
        pg_dedup::audit(&self.pool.get().await?, &entry).await
    }

    async fn audit_log(&self, subject: Option<String>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        pg_dedup::audit_log(&self.pool.get().await?, subject.as_deref(), limit).await
    }

    async fn add_staff(&self, staff: Staff) -> Result<Staff, StoreError> {
        let client = self.pool.get().await?;
        let n = client
            .execute(
                "INSERT INTO staff(name, role, password_hash, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO NOTHING",
                &[&staff.name, &staff.role.as_str(), &staff.password_hash, &staff.created_at],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Refused(format!("there is already a staff account {:?}", staff.name)));
        }
        Ok(staff)
    }

    async fn staff(&self, name: &str) -> Result<Option<Staff>, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt("SELECT name, role, password_hash, created_at, disabled_at FROM staff WHERE name = $1", &[&name])
            .await?;
        row.as_ref().map(staff_row).transpose()
    }

    async fn staff_list(&self) -> Result<Vec<Staff>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query("SELECT name, role, password_hash, created_at, disabled_at FROM staff ORDER BY name", &[])
            .await?;
        rows.iter().map(staff_row).collect()
    }

    async fn disable_staff(&self, name: &str, now: i64) -> Result<Staff, StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("UPDATE staff SET disabled_at = coalesce(disabled_at, $2) WHERE name = $1", &[&name, &now])
            .await?;
        self.staff(name).await?.ok_or_else(|| StoreError::Refused(format!("no staff account {name:?}")))
    }
}

fn staff_row(r: &tokio_postgres::Row) -> Result<Staff, StoreError> {
    Ok(Staff {
        name: r.get(0),
        role: super::staff_role(r.get::<_, &str>(1))?,
        password_hash: r.get(2),
        created_at: r.get(3),
        disabled_at: r.get(4),
    })
}
