//! The duplicate tables on SQLite (`dedup`): match index, pairs, merges
//! and the audit log. Called inside the store's transactions.

use ehcard_match::Person;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use crate::dedup::{AuditEntry, MergeRow, NewAudit, NewPair, PairRow, Queued};

fn json_array(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

fn people_from(rows: Vec<String>) -> Vec<Person> {
    rows.iter().filter_map(|s| serde_json::from_str(s).ok()).collect()
}

/// Queue a resident just written for the matcher, or replace its place in
/// the queue (a row in the write's transaction; the index itself is
/// written by the background matcher): the record id, its `updated_at`,
/// the person (JSON), the keys. The `INSERT` before its rows…
pub const QUEUE_INTO: &str = "INSERT INTO match_queue(record_id, queued_at, person, keys)";
/// …and after them.
pub const QUEUE_CONFLICT: &str = "ON CONFLICT(record_id) DO UPDATE SET queued_at = excluded.queued_at,
    person = excluded.person, keys = excluded.keys";

/// Residents waiting to be indexed and compared, oldest first.
pub fn queued(conn: &Connection, limit: u32) -> Result<Vec<Queued>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT record_id, queued_at, person, keys FROM match_queue ORDER BY queued_at, record_id LIMIT ?1",
    )?;
    let rows = st
        .query_map([limit], |r| {
            let keys: String = r.get(3)?;
            Ok(Queued {
                id: r.get(0)?,
                queued_at: r.get(1)?,
                person: r.get(2)?,
                keys: serde_json::from_str(&keys).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Replace the match index of queued residents.
pub fn index_queued(conn: &Connection, items: &[Queued]) -> Result<(), StoreError> {
    let mut del_keys = conn.prepare_cached("DELETE FROM match_keys WHERE record_id = ?1")?;
    let mut del_person = conn.prepare_cached("DELETE FROM match_people WHERE record_id = ?1")?;
    let mut person = conn.prepare_cached("INSERT INTO match_people(record_id, person) VALUES (?1, ?2)")?;
    let mut key = conn.prepare_cached("INSERT OR IGNORE INTO match_keys(key, record_id) VALUES (?1, ?2)")?;
    for q in items {
        del_keys.execute([&q.id])?;
        del_person.execute([&q.id])?;
        if let Some(json) = &q.person {
            person.execute(params![q.id, json])?;
            for k in &q.keys {
                key.execute(params![k, q.id])?;
            }
        }
    }
    Ok(())
}

pub fn dequeue(conn: &Connection, items: &[Queued]) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached("DELETE FROM match_queue WHERE record_id = ?1 AND queued_at = ?2")?;
    for q in items {
        st.execute(params![q.id, q.queued_at])?;
    }
    Ok(())
}

pub fn people(conn: &Connection, ids: &[String]) -> Result<Vec<Person>, StoreError> {
    let mut st =
        conn.prepare_cached("SELECT person FROM match_people WHERE record_id IN (SELECT value FROM json_each(?1))")?;
    let rows = st.query_map([json_array(ids)], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(people_from(rows))
}

pub fn people_by_keys(conn: &Connection, keys: &[String], per_key: u32) -> Result<Vec<Person>, StoreError> {
    let mut ids =
        conn.prepare_cached("SELECT record_id FROM match_keys WHERE key = ?1 ORDER BY record_id DESC LIMIT ?2")?;
    let mut seen = std::collections::HashSet::new();
    for k in keys {
        for id in ids.query_map(params![k, per_key], |r| r.get::<_, String>(0))? {
            seen.insert(id?);
        }
    }
    let ids: Vec<String> = seen.into_iter().collect();
    people(conn, &ids)
}

pub fn all_people(conn: &Connection) -> Result<Vec<Person>, StoreError> {
    let mut st = conn.prepare("SELECT person FROM match_people ORDER BY record_id")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
    Ok(people_from(rows))
}

/// Queue pairs: new ones as pending; a pending pair's score is refreshed;
/// a decided pair stays decided. Returns how many were new.
pub fn add_pairs(conn: &Connection, pairs: &[NewPair], now: i64) -> Result<usize, StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO duplicate_pairs(a, b, score, reasons, status, found_at)
         VALUES (?1, ?2, ?3, ?4, 'pending', ?5)",
    )?;
    let mut refresh = conn.prepare_cached(
        "UPDATE duplicate_pairs SET score = ?3, reasons = ?4 WHERE a = ?1 AND b = ?2 AND status = 'pending'",
    )?;
    let mut added = 0;
    for p in pairs {
        let reasons = serde_json::to_string(&p.reasons).unwrap_or_else(|_| "[]".into());
        let n = insert.execute(params![p.a, p.b, f64::from(p.score), reasons, now])?;
        if n == 0 {
            refresh.execute(params![p.a, p.b, f64::from(p.score), reasons])?;
        }
        added += n;
    }
    Ok(added)
}

pub(super) fn pair_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PairRow> {
    let reasons: String = r.get(3)?;
    Ok(PairRow {
        a: r.get(0)?,
        b: r.get(1)?,
        score: r.get::<_, f64>(2)? as f32,
        reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        status: r.get(4)?,
        found_at: r.get(5)?,
        decided_at: r.get(6)?,
        decided_by: r.get(7)?,
    })
}

const PAIR_COLS: &str = "a, b, score, reasons, status, found_at, decided_at, decided_by";

pub fn pairs(conn: &Connection, status: Option<&str>, limit: u32) -> Result<Vec<PairRow>, StoreError> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PAIR_COLS} FROM duplicate_pairs WHERE ?1 IS NULL OR status = ?1
         ORDER BY score DESC, found_at, a, b LIMIT ?2"
    ))?;
    let rows = st.query_map(params![status, limit], pair_row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn pair(conn: &Connection, a: &str, b: &str) -> Result<Option<PairRow>, StoreError> {
    let (a, b) = crate::dedup::ordered(a, b);
    Ok(conn
        .query_row(&format!("SELECT {PAIR_COLS} FROM duplicate_pairs WHERE a = ?1 AND b = ?2"), params![a, b], pair_row)
        .optional()?)
}

/// Record a decision on a pair (made if the matcher never proposed it).
pub fn decide(conn: &Connection, a: &str, b: &str, status: &str, by: &str, now: i64) -> Result<(), StoreError> {
    let (a, b) = crate::dedup::ordered(a, b);
    conn.prepare_cached(
        "INSERT INTO duplicate_pairs(a, b, score, reasons, status, found_at, decided_at, decided_by)
         VALUES (?1, ?2, 0, '[]', ?3, ?4, ?4, ?5)
         ON CONFLICT(a, b) DO UPDATE SET status = excluded.status, decided_at = excluded.decided_at,
            decided_by = excluded.decided_by",
    )?
    .execute(params![a, b, status, now, by])?;
    Ok(())
}

/// Pending pairs that involve a record merged away are moot.
pub fn supersede(conn: &Connection, id: &str, by: &str, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE duplicate_pairs SET status = 'superseded', decided_at = ?2, decided_by = ?3
         WHERE status = 'pending' AND (a = ?1 OR b = ?1)",
    )?
    .execute(params![id, now, by])?;
    Ok(())
}

pub fn audit(conn: &Connection, e: &NewAudit) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO audit(at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![e.at, e.actor, e.action, e.subject, e.detail.to_string()])?;
    Ok(())
}

pub fn audit_log(conn: &Connection, subject: Option<&str>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, at, actor, action, subject, detail FROM audit WHERE ?1 IS NULL OR subject = ?1
         ORDER BY seq DESC LIMIT ?2",
    )?;
    let rows = st
        .query_map(params![subject, limit], |r| {
            let detail: String = r.get(5)?;
            Ok(AuditEntry {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn insert_merge(conn: &Connection, m: &MergeRow) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO merges(survivor, duplicate, combination, merged_at, merged_by) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        m.survivor,
        m.duplicate,
        serde_json::to_string(&m.combination).unwrap_or_default(),
        m.merged_at,
        m.merged_by
    ])?;
    Ok(conn.last_insert_rowid())
}

/// The merge that made `duplicate` what it is now (not undone), if any.
pub fn open_merge(conn: &Connection, duplicate: &str) -> Result<Option<MergeRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, survivor, duplicate, combination, merged_at, merged_by, undone_at, undone_by FROM merges
             WHERE duplicate = ?1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            [duplicate],
            |r| {
                let c: String = r.get(3)?;
                Ok(MergeRow {
                    id: r.get(0)?,
                    survivor: r.get(1)?,
                    duplicate: r.get(2)?,
                    combination: serde_json::from_str(&c).unwrap_or_default(),
                    merged_at: r.get(4)?,
                    merged_by: r.get(5)?,
                    undone_at: r.get(6)?,
                    undone_by: r.get(7)?,
                })
            },
        )
        .optional()?)
}

pub fn mark_undone(conn: &Connection, id: i64, by: &str, now: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE merges SET undone_at = ?2, undone_by = ?3 WHERE id = ?1")?
        .execute(params![id, now, by])?;
    Ok(())
}

/// A resident by eHealth ID: its record id and the record it lives on now
/// (following merges).
pub fn resolve_health_id(conn: &Connection, health: &str) -> Result<Option<(String, String)>, StoreError> {
    let Some(id) = conn
        .query_row("SELECT id FROM residents WHERE health_id = ?1", [health], |r| r.get::<_, String>(0))
        .optional()?
    else {
        return Ok(None);
    };
    let mut current = id.clone();
    for _ in 0..16 {
        let next: Option<Option<String>> =
            conn.query_row("SELECT merged_into FROM residents WHERE id = ?1", [&current], |r| r.get(0)).optional()?;
        match next.flatten() {
            Some(n) if n != current => current = n,
            _ => break,
        }
    }
    Ok(Some((id, current)))
}
