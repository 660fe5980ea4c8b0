//! The registry on PostgreSQL: the production store. A connection pool;
//! nothing in memory that another server instance must see, so several
//! instances can serve one database behind a load balancer.
//!
//! Feed order: concurrent pushes take a transaction-scoped advisory lock
//! before appending to the feed, so feed sequence numbers become visible in
//! order and a pull never skips an entry that commits later.

use deadpool_postgres::{Config, Pool, PoolConfig, Runtime};
use ehcard_sync::wire::{PullEntry, PushStatus};
use tokio_postgres::NoTls;

use super::{
    Device, DeviceStats, NewDevice, Projection, PullPage, PushItem, PushOutcome, RegistryStore, Stats, Step,
    StoreError, merge_one,
};

const MIGRATIONS: &[&str] = &[include_str!("../../../schema/migrations/server-postgres/0001_registry.sql")];
const FEED_LOCK: i64 = 0x6568_6361_7264; // "ehcard"

pub struct PgStore {
    pool: Pool,
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
        Ok(PgStore { pool })
    }
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

async fn project(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
    p: &Projection,
    device: &str,
) -> Result<(), StoreError> {
    let ward = p.ward as i32;
    match p.kind {
        ehcard_core::RecordKind::Resident => {
            let birth_year = p.birth_year.map(|y| y as i32);
            let st = tx
                .prepare_cached(
                    "INSERT INTO residents(id, ward, household_id, health_id, given_name, family_name, name_hi, sex,
                        birth_year, phone, voter_id, has_conflicts, enrolled_by, updated_at, last_device_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                     ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, household_id = excluded.household_id,
                        health_id = excluded.health_id, given_name = excluded.given_name,
                        family_name = excluded.family_name, name_hi = excluded.name_hi, sex = excluded.sex,
                        birth_year = excluded.birth_year, phone = excluded.phone, voter_id = excluded.voter_id,
                        has_conflicts = excluded.has_conflicts, enrolled_by = excluded.enrolled_by,
                        updated_at = excluded.updated_at, last_device_id = excluded.last_device_id",
                )
                .await?;
            tx.execute(
                &st,
                &[
                    &id,
                    &ward,
                    &p.household_id,
                    &p.health_id,
                    &p.given_name,
                    &p.family_name,
                    &p.name_hi,
                    &p.sex,
                    &birth_year,
                    &p.phone,
                    &p.voter_id,
                    &p.has_conflicts,
                    &p.enrolled_by,
                    &p.updated_at,
                    &device,
                ],
            )
            .await?;
        }
        ehcard_core::RecordKind::Household => {
            let members = p.members as i32;
            let st = tx
                .prepare_cached(
                    "INSERT INTO households(id, ward, house, street, locality, head_id, members, updated_at, last_device_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, house = excluded.house,
                        street = excluded.street, locality = excluded.locality, head_id = excluded.head_id,
                        members = excluded.members, updated_at = excluded.updated_at,
                        last_device_id = excluded.last_device_id",
                )
                .await?;
            tx.execute(
                &st,
                &[&id, &ward, &p.house, &p.street, &p.locality, &p.head_id, &members, &p.updated_at, &device],
            )
            .await?;
        }
    }
    Ok(())
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
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO devices(id, number, label, wards, code_hash, code_expires_at, created_at)
                     VALUES ($1, nextval('device_numbers'), $2, $3, $4, $5, $6) RETURNING {DEVICE_COLS}"
                ),
                &[&new.id, &new.label, &wards, &new.code_hash, &new.code_expires_at, &new.now],
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
        tx.commit().await?;
        Ok(device_row(&row))
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let select = tx.prepare_cached("SELECT data, ward FROM docs WHERE id = $1 FOR UPDATE").await?;
        let upsert = tx
            .prepare_cached(
                "INSERT INTO docs(id, kind, ward, data, heads) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET ward = excluded.ward, data = excluded.data, heads = excluded.heads",
            )
            .await?;
        let mut out = Vec::with_capacity(items.len());
        let mut feed: Vec<(String, i32, Vec<u8>, Vec<String>)> = Vec::new();
        for item in &items {
            let existing: Option<(Vec<u8>, i32)> =
                tx.query_opt(&select, &[&item.id]).await?.map(|r| (r.get(0), r.get(1)));
            let step =
                merge_one(existing.as_ref().map(|(d, w)| (d.as_slice(), i64::from(*w))), item, device, today(now))?;
            match step {
                Step::Unchanged { heads } => {
                    out.push(PushOutcome { id: item.id.clone(), status: PushStatus::Unchanged, heads })
                }
                Step::NeedFull => {
                    out.push(PushOutcome { id: item.id.clone(), status: PushStatus::NeedFull, heads: Vec::new() })
                }
                Step::Write { doc, heads, new_changes, projection } => {
                    let ward = projection.ward as i32;
                    tx.execute(&upsert, &[&item.id, &projection.kind.as_str(), &ward, &doc, &heads]).await?;
                    project(&tx, &item.id, &projection, &device.id).await?;
                    feed.push((item.id.clone(), ward, new_changes, heads.clone()));
                    out.push(PushOutcome { id: item.id.clone(), status: PushStatus::Merged, heads });
                }
            }
        }
        if !feed.is_empty() {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&FEED_LOCK]).await?;
            let ins = tx
                .prepare_cached(
                    "INSERT INTO feed(record_id, ward, device_id, changes, heads, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .await?;
            for (id, ward, changes, heads) in &feed {
                tx.execute(&ins, &[id, ward, &device.id, changes, heads, &now]).await?;
            }
        }
        tx.execute("UPDATE devices SET last_sync_at = $2 WHERE id = $1", &[&device.id, &now]).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn pull(&self, device: &Device, cursor: i64, limit: u32, now: i64) -> Result<PullPage, StoreError> {
        let client = self.pool.get().await?;
        let limit = limit.clamp(1, 5000);
        let wards: Vec<i32> = device.wards.iter().map(|w| i32::from(*w)).collect();
        let st = client
            .prepare_cached(
                "SELECT seq, record_id, changes, heads FROM feed
                 WHERE seq > $1 AND ward = ANY($2) AND device_id <> $3 ORDER BY seq LIMIT $4",
            )
            .await?;
        let rows = client.query(&st, &[&cursor, &wards, &device.id, &(i64::from(limit) + 1)]).await?;
        let mut entries: Vec<PullEntry> = rows
            .iter()
            .map(|r| PullEntry { seq: r.get(0), id: r.get(1), changes: r.get(2), heads: r.get(3) })
            .collect();
        let more = entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = entries.last().map(|e| e.seq).unwrap_or(cursor);
        client.execute("UPDATE devices SET last_sync_at = $2 WHERE id = $1", &[&device.id, &now]).await?;
        Ok(PullPage { entries, cursor: next, more })
    }

    async fn record(&self, id: &str) -> Result<Option<(Vec<u8>, Vec<String>, i64)>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt("SELECT data, heads, ward FROM docs WHERE id = $1", &[&id]).await?;
        Ok(row.map(|r| (r.get(0), r.get(1), i64::from(r.get::<_, i32>(2)))))
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
}
