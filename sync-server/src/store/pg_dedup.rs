//! The duplicate tables on PostgreSQL (`dedup`): match index, pairs,
//! merges and the audit log. Bulk writes unnest arrays, one statement a
//! table, like the rest of the PostgreSQL store.

use deadpool_postgres::GenericClient;
use ehcard_match::Person;

use super::{StoreError, Write};
use crate::dedup::{AuditEntry, MergeRow, NewAudit, NewPair, PairRow, Queued};

fn people_from(rows: Vec<tokio_postgres::Row>) -> Vec<Person> {
    rows.iter().filter_map(|r| serde_json::from_str(r.get::<_, &str>(0)).ok()).collect()
}

/// Queue the residents just written for the matcher (one statement, in the
/// write's transaction; the index itself is written by the background
/// matcher).
pub async fn queue<C: GenericClient>(c: &C, writes: &[&Write]) -> Result<(), StoreError> {
    let residents: Vec<&&Write> =
        writes.iter().filter(|w| w.projection.kind == ehcard_core::RecordKind::Resident).collect();
    if residents.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = residents.iter().map(|w| w.id.as_str()).collect();
    let at: Vec<i64> = residents.iter().map(|w| w.projection.updated_at).collect();
    let (people, keys): (Vec<Option<&str>>, Vec<String>) = residents.iter().map(|w| w.projection.queue_row()).unzip();
    c.execute(
        "INSERT INTO match_queue(record_id, queued_at, person, keys)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])
         ON CONFLICT (record_id) DO UPDATE SET queued_at = excluded.queued_at, person = excluded.person,
            keys = excluded.keys",
        &[&ids, &at, &people, &keys],
    )
    .await?;
    Ok(())
}

/// Residents waiting to be indexed and compared, oldest first.
pub async fn queued<C: GenericClient>(c: &C, limit: u32) -> Result<Vec<Queued>, StoreError> {
    let rows = c
        .query(
            "SELECT record_id, queued_at, person, keys FROM match_queue ORDER BY queued_at, record_id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Queued {
            id: r.get(0),
            queued_at: r.get(1),
            person: r.get(2),
            keys: serde_json::from_str(r.get::<_, &str>(3)).unwrap_or_default(),
        })
        .collect())
}

/// Replace the match index of queued residents.
pub async fn index_queued<C: GenericClient>(c: &C, items: &[Queued]) -> Result<(), StoreError> {
    let ids: Vec<&str> = items.iter().map(|q| q.id.as_str()).collect();
    c.execute("DELETE FROM match_keys WHERE record_id = ANY($1)", &[&ids]).await?;
    c.execute("DELETE FROM match_people WHERE record_id = ANY($1)", &[&ids]).await?;
    let (mut pids, mut people, mut key_ids, mut keys) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for q in items {
        if let Some(json) = &q.person {
            pids.push(q.id.as_str());
            people.push(json.as_str());
            for k in &q.keys {
                key_ids.push(q.id.as_str());
                keys.push(k.as_str());
            }
        }
    }
    c.execute(
        "INSERT INTO match_people(record_id, person) SELECT * FROM unnest($1::text[], $2::text[])",
        &[&pids, &people],
    )
    .await?;
    c.execute(
        "INSERT INTO match_keys(key, record_id) SELECT DISTINCT * FROM unnest($1::text[], $2::text[])
         ON CONFLICT DO NOTHING",
        &[&keys, &key_ids],
    )
    .await?;
    Ok(())
}

pub async fn dequeue<C: GenericClient>(c: &C, items: &[Queued]) -> Result<(), StoreError> {
    let ids: Vec<&str> = items.iter().map(|q| q.id.as_str()).collect();
    let at: Vec<i64> = items.iter().map(|q| q.queued_at).collect();
    c.execute(
        "DELETE FROM match_queue q USING unnest($1::text[], $2::bigint[]) AS t(id, at)
         WHERE q.record_id = t.id AND q.queued_at = t.at",
        &[&ids, &at],
    )
    .await?;
    Ok(())
}

pub async fn people<C: GenericClient>(c: &C, ids: &[String]) -> Result<Vec<Person>, StoreError> {
    Ok(people_from(c.query("SELECT person FROM match_people WHERE record_id = ANY($1)", &[&ids]).await?))
}

pub async fn people_by_keys<C: GenericClient>(c: &C, keys: &[String], per_key: u32) -> Result<Vec<Person>, StoreError> {
    Ok(people_from(
        c.query(
            "SELECT p.person FROM match_people p WHERE p.record_id IN
                (SELECT x.record_id FROM unnest($1::text[]) AS k(key)
                 CROSS JOIN LATERAL (SELECT m.record_id FROM match_keys m WHERE m.key = k.key
                                     ORDER BY m.record_id DESC LIMIT $2) AS x)",
            &[&keys, &i64::from(per_key)],
        )
        .await?,
    ))
}

pub async fn all_people<C: GenericClient>(c: &C) -> Result<Vec<Person>, StoreError> {
    Ok(people_from(c.query("SELECT person FROM match_people ORDER BY record_id", &[]).await?))
}

/// Queue pairs: new ones as pending; a pending pair's score is refreshed;
/// a decided pair stays decided. Returns how many were new.
pub async fn add_pairs<C: GenericClient>(c: &C, pairs: &[NewPair], now: i64) -> Result<usize, StoreError> {
    if pairs.is_empty() {
        return Ok(0);
    }
    let a: Vec<&str> = pairs.iter().map(|p| p.a.as_str()).collect();
    let b: Vec<&str> = pairs.iter().map(|p| p.b.as_str()).collect();
    let score: Vec<f32> = pairs.iter().map(|p| p.score).collect();
    let reasons: Vec<String> =
        pairs.iter().map(|p| serde_json::to_string(&p.reasons).unwrap_or_else(|_| "[]".into())).collect();
    let rows = c
        .query(
            "INSERT INTO duplicate_pairs(a, b, score, reasons, status, found_at)
             SELECT DISTINCT ON (a, b) a, b, s, r, 'pending', $5
             FROM unnest($1::text[], $2::text[], $3::real[], $4::text[]) AS t(a, b, s, r)
             ON CONFLICT (a, b) DO UPDATE SET score = excluded.score, reasons = excluded.reasons
                WHERE duplicate_pairs.status = 'pending'
             RETURNING (xmax = 0) AS inserted",
            &[&a, &b, &score, &reasons, &now],
        )
        .await?;
    Ok(rows.iter().filter(|r| r.get::<_, bool>(0)).count())
}

pub(super) fn pair_row(r: &tokio_postgres::Row) -> PairRow {
    PairRow {
        a: r.get(0),
        b: r.get(1),
        score: r.get(2),
        reasons: serde_json::from_str(r.get::<_, &str>(3)).unwrap_or_default(),
        status: r.get(4),
        found_at: r.get(5),
        decided_at: r.get(6),
        decided_by: r.get(7),
    }
}

const PAIR_COLS: &str = "a, b, score, reasons, status, found_at, decided_at, decided_by";

pub async fn pairs<C: GenericClient>(c: &C, status: Option<&str>, limit: u32) -> Result<Vec<PairRow>, StoreError> {
    let rows = c
        .query(
            &format!(
                "SELECT {PAIR_COLS} FROM duplicate_pairs WHERE $1::text IS NULL OR status = $1
                 ORDER BY score DESC, found_at, a, b LIMIT $2"
            ),
            &[&status, &i64::from(limit)],
        )
        .await?;
    Ok(rows.iter().map(pair_row).collect())
}

pub async fn pair<C: GenericClient>(c: &C, a: &str, b: &str) -> Result<Option<PairRow>, StoreError> {
    let (a, b) = crate::dedup::ordered(a, b);
    let row =
        c.query_opt(&format!("SELECT {PAIR_COLS} FROM duplicate_pairs WHERE a = $1 AND b = $2"), &[&a, &b]).await?;
    Ok(row.as_ref().map(pair_row))
}

/// Record a decision on a pair (made if the matcher never proposed it).
pub async fn decide<C: GenericClient>(
    c: &C,
    a: &str,
    b: &str,
    status: &str,
    by: &str,
    now: i64,
) -> Result<(), StoreError> {
    let (a, b) = crate::dedup::ordered(a, b);
    c.execute(
        "INSERT INTO duplicate_pairs(a, b, score, reasons, status, found_at, decided_at, decided_by)
         VALUES ($1, $2, 0, '[]', $3, $4, $4, $5)
         ON CONFLICT (a, b) DO UPDATE SET status = excluded.status, decided_at = excluded.decided_at,
            decided_by = excluded.decided_by",
        &[&a, &b, &status, &now, &by],
    )
    .await?;
    Ok(())
}

/// Pending pairs that involve a record merged away are moot.
pub async fn supersede<C: GenericClient>(c: &C, id: &str, by: &str, now: i64) -> Result<(), StoreError> {
    c.execute(
        "UPDATE duplicate_pairs SET status = 'superseded', decided_at = $2, decided_by = $3
         WHERE status = 'pending' AND (a = $1 OR b = $1)",
        &[&id, &now, &by],
    )
    .await?;
    Ok(())
}

pub async fn audit<C: GenericClient>(c: &C, e: &NewAudit) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit(at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
        &[&e.at, &e.actor, &e.action, &e.subject, &e.detail.to_string()],
    )
    .await?;
    Ok(())
}

pub async fn audit_log<C: GenericClient>(
    c: &C,
    subject: Option<&str>,
    limit: u32,
) -> Result<Vec<AuditEntry>, StoreError> {
    let rows = c
        .query(
            "SELECT seq, at, actor, action, subject, detail FROM audit WHERE $1::text IS NULL OR subject = $1
             ORDER BY seq DESC LIMIT $2",
            &[&subject, &i64::from(limit)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            seq: r.get(0),
            at: r.get(1),
            actor: r.get(2),
            action: r.get(3),
            subject: r.get(4),
            detail: serde_json::from_str(r.get::<_, &str>(5)).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}

pub async fn insert_merge<C: GenericClient>(c: &C, m: &MergeRow) -> Result<i64, StoreError> {
    let row = c
        .query_one(
            "INSERT INTO merges(survivor, duplicate, combination, merged_at, merged_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &m.survivor,
                &m.duplicate,
                &serde_json::to_string(&m.combination).unwrap_or_default(),
                &m.merged_at,
                &m.merged_by,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// The merge that made `duplicate` what it is now (not undone), if any.
pub async fn open_merge<C: GenericClient>(c: &C, duplicate: &str) -> Result<Option<MergeRow>, StoreError> {
    let row = c
        .query_opt(
            "SELECT id, survivor, duplicate, combination, merged_at, merged_by, undone_at, undone_by FROM merges
             WHERE duplicate = $1 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            &[&duplicate],
        )
        .await?;
    Ok(row.map(|r| MergeRow {
        id: r.get(0),
        survivor: r.get(1),
        duplicate: r.get(2),
        combination: serde_json::from_str(r.get::<_, &str>(3)).unwrap_or_default(),
        merged_at: r.get(4),
        merged_by: r.get(5),
        undone_at: r.get(6),
        undone_by: r.get(7),
    }))
}

pub async fn mark_undone<C: GenericClient>(c: &C, id: i64, by: &str, now: i64) -> Result<(), StoreError> {
    c.execute("UPDATE merges SET undone_at = $2, undone_by = $3 WHERE id = $1", &[&id, &now, &by]).await?;
    Ok(())
}

/// A resident by eHealth ID: its record id and the record it lives on now
/// (following merges).
pub async fn resolve_health_id<C: GenericClient>(c: &C, health: &str) -> Result<Option<(String, String)>, StoreError> {
    let Some(row) = c.query_opt("SELECT id FROM residents WHERE health_id = $1 LIMIT 1", &[&health]).await? else {
        return Ok(None);
    };
    let id: String = row.get(0);
    let mut current = id.clone();
    for _ in 0..16 {
        let next = c.query_opt("SELECT merged_into FROM residents WHERE id = $1", &[&current]).await?;
        match next.and_then(|r| r.get::<_, Option<String>>(0)) {
            Some(n) if n != current => current = n,
            _ => break,
        }
    }
    Ok(Some((id, current)))
}
