//! The device's side of sync: which documents the server lacks, what it has
//! acknowledged, and taking in what other tablets sent.
//!
//! Per document, `acked_heads` are heads the server is known to hold and
//! `dirty` says the device has more. A push sends `save_after(acked_heads)`
//! (the whole document when the server has never seen it); an
//! acknowledgement sets `acked_heads` to what was sent and clears `dirty`
//! only if the document has not changed since. Pulled changes never make a
//! document dirty. The pull cursor is saved in the same transaction as the
//! changes it covers, so a sync cut off anywhere resumes where it stopped.

use automerge::ChangeHash;
use ehcard_core::doc::RecordDoc;
use ehcard_core::ids::{DeviceNumber, RecordId};
use ehcard_core::merge::{heads_from_bytes, heads_to_bytes};
use ehcard_core::model::RecordKind;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::{Store, StoreError, meta_get, meta_set, project};

/// A document the server lacks (or lacks part of).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub rid: i64,
    pub id: RecordId,
    pub kind: RecordKind,
    pub version: i64,
    /// Changes the server lacks, or the whole document.
    pub changes: Vec<u8>,
    /// The document's heads as sent.
    pub heads: Vec<ChangeHash>,
}

/// Changes from the server for one document.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub id: RecordId,
    pub changes: Vec<u8>,
    /// The server's heads for the document after these changes.
    pub heads: Vec<ChangeHash>,
}

/// What a pull page did on the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Applied {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Records that now show conflicting values.
    pub with_conflicts: Vec<String>,
    /// Records whose changes could not be applied without the whole document.
    pub need_full: Vec<String>,
}

/// A document as the device holds it.
#[derive(Debug, Clone)]
struct Local {
    data: Vec<u8>,
    dirty: bool,
    acked: Option<Vec<u8>>,
}

/// What to write for one pulled entry.
enum Pulled {
    NeedFull,
    Unchanged,
    Write {
        data: Vec<u8>,
        acked: Vec<ChangeHash>,
        heads: Vec<ChangeHash>,
        record: Box<ehcard_core::Record>,
        created: bool,
    },
}

/// Merge one pulled entry into the local document (no database access).
fn apply_one(e: &Incoming, local: Option<&Local>, actor: &automerge::ActorId) -> Result<Pulled, StoreError> {
    let Some(local) = local else {
        // New here: the server's bytes are the document once they load.
        let mut doc = match RecordDoc::load(&e.changes, actor) {
            Ok(doc) => doc,
            Err(_) => return Ok(Pulled::NeedFull),
        };
        if doc.has_pending_changes() {
            return Ok(Pulled::NeedFull);
        }
        let record = doc.read()?;
        check_id(&record, e)?;
        let heads = doc.heads();
        return Ok(Pulled::Write {
            data: e.changes.clone(),
            acked: heads.clone(),
            heads,
            record: Box::new(record),
            created: true,
        });
    };
    let mut doc = RecordDoc::load(&local.data, actor)?;
    let before = doc.heads();
    doc.load_incremental(&e.changes)?;
    if doc.has_pending_changes() {
        return Ok(Pulled::NeedFull);
    }
    let heads = doc.heads();
    if heads == before {
        return Ok(Pulled::Unchanged);
    }
    let record = doc.read()?;
    check_id(&record, e)?;
    // What the server is known to hold: everything here when the device had
    // nothing unsent; otherwise what it had plus this entry.
    let acked = if local.dirty {
        let mut known = local.acked.as_deref().and_then(heads_from_bytes).unwrap_or_default();
        known.extend(e.heads.iter().copied());
        known.sort();
        known.dedup();
        known
    } else {
        heads.clone()
    };
    Ok(Pulled::Write { data: doc.save(), acked, heads, record: Box::new(record), created: false })
}

fn check_id(record: &ehcard_core::Record, e: &Incoming) -> Result<(), StoreError> {
    if record.meta.id != e.id {
        return Err(StoreError::Doc(ehcard_core::DocError::Corrupt(format!(
            "the server sent record {} under id {}",
            record.meta.id, e.id
        ))));
    }
    Ok(())
}

/// Where a record stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Never sent.
    LocalOnly,
    /// The server has an older version.
    Changed,
    /// The server has merged the record as it stands here.
    Merged,
}

impl SyncState {
    pub fn describe(self) -> &'static str {
        match self {
            SyncState::LocalOnly => "local only (not yet sent)",
            SyncState::Changed => "changed since the last sync",
            SyncState::Merged => "merged by the server",
        }
    }
}

/// What provisioning gave this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provisioning {
    pub server_url: String,
    pub device_id: String,
    pub device_number: u32,
    pub wards: Vec<u16>,
    /// The device's Ed25519 key pair (PKCS#8), kept inside the encrypted store.
    pub key_pkcs8_hex: String,
    /// PEM of an extra certificate authority to trust for the server, if any.
    pub ca_pem: Option<String>,
    /// The registry's public key (hex), pinned at provisioning: it signs the
    /// trust list and permanent cards.
    #[serde(default)]
    pub registry_public_key_hex: Option<String>,
}

impl Store {
    /// Record what provisioning gave this device.
    pub fn set_provisioning(&mut self, p: &Provisioning) -> Result<(), StoreError> {
        let number = DeviceNumber::new(p.device_number)?;
        let tx = self.conn.transaction()?;
        let json = serde_json::to_string(p).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        meta_set(&tx, "provisioning", &json)?;
        meta_set(&tx, "device_number", &number.get().to_string())?;
        tx.commit()?;
        self.device.number = number;
        self.device.wards = Some(p.wards.clone());
        Ok(())
    }

    pub fn provisioning(&self) -> Result<Option<Provisioning>, StoreError> {
        Ok(meta_get(&self.conn, "provisioning")?.and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// A free-form setting kept in the store (sync cursor, last sync, …).
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        meta_get(&self.conn, &format!("setting.{key}"))
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        meta_set(&self.conn, &format!("setting.{key}"), value)
    }

    /// How many documents the server lacks.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        Ok(self.conn.query_row("SELECT count(*) FROM docs WHERE dirty = 1", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Up to `limit` documents (and about `max_bytes`) the server lacks,
    /// after row `after_rid`, in write order.
    pub fn pending(&self, after_rid: i64, limit: usize, max_bytes: usize) -> Result<Vec<Outgoing>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT rid, id, kind, data, acked_heads, version, heads FROM docs
             WHERE dirty = 1 AND rid > ?1 ORDER BY rid LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![after_rid, limit as i64])?;
        let mut out = Vec::new();
        let mut bytes = 0usize;
        while let Some(row) = rows.next()? {
            let id: String = row.get(1)?;
            let id: RecordId = id.parse().map_err(|_| StoreError::Corrupt)?;
            let kind = RecordKind::parse(&row.get::<_, String>(2)?).ok_or(StoreError::Corrupt)?;
            let data: Vec<u8> = row.get(3)?;
            let acked = row.get::<_, Option<Vec<u8>>>(4)?.as_deref().and_then(heads_from_bytes);
            let stored_heads = row.get::<_, Option<Vec<u8>>>(6)?.as_deref().and_then(heads_from_bytes);
            let (changes, heads) = match (acked, stored_heads) {
                // Never sent: the whole document, no need to load it.
                (None, Some(heads)) => (data, heads),
                (acked, _) => {
                    let mut doc = RecordDoc::load(&data, &self.device.actor)?;
                    let changes = match acked {
                        Some(a) if doc.contains(&a) => doc.save_after(&a),
                        _ => data,
                    };
                    (changes, doc.heads())
                }
            };
            bytes += changes.len();
            out.push(Outgoing { rid: row.get(0)?, id, kind, version: row.get(5)?, changes, heads });
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(out)
    }

    /// A whole saved document (sent when the server cannot take changes alone).
    pub fn whole_doc(&self, id: &RecordId) -> Result<Vec<u8>, StoreError> {
        self.conn
            .query_row("SELECT data FROM docs WHERE id = ?1", [id.to_string()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))
    }

    /// The server has merged these documents as sent.
    pub fn acknowledge(&mut self, acks: &[(&Outgoing, bool)]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE docs SET acked_heads = ?2, dirty = CASE WHEN version = ?3 THEN 0 ELSE 1 END WHERE id = ?1",
            )?;
            for (o, _) in acks.iter().filter(|(_, ok)| *ok) {
                stmt.execute(params![o.id.to_string(), heads_to_bytes(&o.heads), o.version])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Take in a page of changes from the server and move the pull cursor to
    /// `cursor`, in one transaction. Documents are merged on every core.
    pub fn apply_pulled(&mut self, entries: &[Incoming], cursor: i64) -> Result<Applied, StoreError> {
        let actor = self.device.actor.clone();
        let tx = self.conn.transaction()?;
        let mut existing: Vec<Option<Local>> = Vec::with_capacity(entries.len());
        {
            let mut select = tx.prepare_cached("SELECT data, dirty, acked_heads FROM docs WHERE id = ?1")?;
            for e in entries {
                existing.push(
                    select
                        .query_row([e.id.to_string()], |r| {
                            Ok(Local { data: r.get(0)?, dirty: r.get::<_, i64>(1)? == 1, acked: r.get(2)? })
                        })
                        .optional()?,
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        let outcomes: Vec<Result<Pulled, StoreError>> = if entries.iter().all(|e| seen.insert(e.id)) {
            let pairs: Vec<(&Incoming, &Option<Local>)> = entries.iter().zip(existing.iter()).collect();
            ehcard_core::par::map(&pairs, |(e, local)| apply_one(e, local.as_ref(), &actor))
        } else {
            // A record twice in one page: in order, each into the last result.
            let mut latest: std::collections::HashMap<RecordId, Local> = std::collections::HashMap::new();
            let mut out = Vec::with_capacity(entries.len());
            for (e, local) in entries.iter().zip(existing) {
                let local = latest.get(&e.id).cloned().or(local);
                let r = apply_one(e, local.as_ref(), &actor);
                if let Ok(Pulled::Write { data, acked, .. }) = &r {
                    let dirty = local.as_ref().is_some_and(|l| l.dirty);
                    latest.insert(e.id, Local { data: data.clone(), dirty, acked: Some(heads_to_bytes(acked)) });
                }
                out.push(r);
            }
            out
        };
        let mut applied = Applied::default();
        let mut upsert = tx.prepare_cached(
            "INSERT INTO docs(id, kind, data, dirty, acked_heads, heads) VALUES (?1, ?2, ?3, 0, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET data = excluded.data, acked_heads = excluded.acked_heads,
                heads = excluded.heads",
        )?;
        for (e, outcome) in entries.iter().zip(outcomes) {
            match outcome? {
                Pulled::NeedFull => applied.need_full.push(e.id.to_string()),
                Pulled::Unchanged => applied.unchanged += 1,
                Pulled::Write { data, acked, heads, record, created } => {
                    upsert.execute(params![
                        e.id.to_string(),
                        record.meta.kind.as_str(),
                        data,
                        heads_to_bytes(&acked),
                        heads_to_bytes(&heads)
                    ])?;
                    project::project(&tx, &record)?;
                    if created {
                        applied.created += 1;
                    } else {
                        applied.updated += 1;
                    }
                    if !record.conflicts.is_empty() {
                        applied.with_conflicts.push(e.id.to_string());
                    }
                }
            }
        }
        drop(upsert);
        meta_set(&tx, "setting.pull_cursor", &cursor.to_string())?;
        tx.commit()?;
        Ok(applied)
    }

    /// Where a record stands with the server.
    pub fn sync_state(&self, id: &RecordId) -> Result<SyncState, StoreError> {
        let row: Option<(i64, Option<Vec<u8>>)> = self
            .conn
            .query_row("SELECT dirty, acked_heads FROM docs WHERE id = ?1", [id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        match row {
            None => Err(StoreError::NotFound(id.to_string())),
            Some((_, None)) => Ok(SyncState::LocalOnly),
            Some((1, Some(_))) => Ok(SyncState::Changed),
            Some(_) => Ok(SyncState::Merged),
        }
    }
}
