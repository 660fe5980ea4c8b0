//! The console's administration pages: tablets, staff accounts, roll uploads and the audit log.
//!
//! Tablets and accounts use the registry's own methods (`add_device`,
//! `revoke_device`, `add_staff`, `disable_staff`); this trait adds what
//! only the console needs: password resets, roll-upload jobs (their state
//! in the database, so any server instance shows any job) and the
//! filtered, keyset-paged audit log.

use rusqlite::{OptionalExtension, params, params_from_iter};
use serde::{Deserialize, Serialize};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{RegistryStore, StoreError};
use crate::dedup::AuditEntry;
use crate::staff::Staff;

/// The audit log's filters; every one optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Entries about any of these subjects (empty: any subject).
    pub subjects: Vec<String>,
    /// From this moment (inclusive)…
    pub from: Option<i64>,
    /// …to this one (exclusive).
    pub to: Option<i64>,
    /// Keyset paging: entries older than this sequence number.
    pub before: Option<i64>,
    pub limit: u32,
}

/// One bad row of an upload, as the job keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRowError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

/// A roll upload to run.
#[derive(Debug, Clone)]
pub struct NewRollJob {
    pub file_name: String,
    pub file_bytes: i64,
    pub file_sha256: String,
    pub as_of: String,
    pub uploaded_by: String,
    pub instance: String,
    pub now: i64,
}

/// How a job ended.
#[derive(Debug, Clone)]
pub struct RollJobEnd {
    /// `rejected` (bad rows: nothing imported), `failed` or `done`.
    pub state: String,
    pub total_rows: i64,
    pub bad_rows: i64,
    pub errors: Vec<JobRowError>,
    pub message: Option<String>,
    pub summary: Option<serde_json::Value>,
    pub now: i64,
}

/// A roll upload and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct RollJob {
    pub id: i64,
    pub file_name: String,
    pub file_bytes: i64,
    pub file_sha256: String,
    pub as_of: String,
    pub uploaded_by: String,
    pub created_at: i64,
    pub instance: String,
    pub state: String,
    pub phase: String,
    pub done_rows: i64,
    pub total_rows: i64,
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
    pub bad_rows: i64,
    pub errors: Vec<JobRowError>,
    pub message: Option<String>,
    pub summary: Option<serde_json::Value>,
}

#[async_trait::async_trait]
pub trait AdminStore {
    /// Give an account a new password hash; refused for an unknown account.
    async fn set_staff_password(&self, name: &str, password_hash: &str) -> Result<Staff, StoreError>;

    async fn create_roll_job(&self, job: NewRollJob) -> Result<i64, StoreError>;
    /// A running job's phase and rows done; also its heartbeat.
    async fn roll_job_progress(&self, id: i64, phase: &str, done: i64, total: i64, now: i64) -> Result<(), StoreError>;
    async fn finish_roll_job(&self, id: i64, end: RollJobEnd) -> Result<(), StoreError>;
    async fn roll_job(&self, id: i64) -> Result<Option<RollJob>, StoreError>;
    /// The most recent jobs, newest first.
    async fn roll_jobs(&self, limit: u32) -> Result<Vec<RollJob>, StoreError>;

    /// The audit log, newest first, filtered and keyset-paged.
    async fn audit_page(&self, query: AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Every action the log holds (a walk of the action index, not a scan).
    async fn audit_actions(&self) -> Result<Vec<String>, StoreError>;
}

const JOB_COLS: &str = "id, file_name, file_bytes, file_sha256, as_of, uploaded_by, created_at, instance, state, \
                        phase, done_rows, total_rows, heartbeat_at, finished_at, bad_rows, errors, message, summary";

fn errors_of(json: &str) -> Vec<JobRowError> {
    serde_json::from_str(json).unwrap_or_default()
}

fn summary_of(json: Option<String>) -> Option<serde_json::Value> {
    json.and_then(|s| serde_json::from_str(&s).ok())
}

fn sqlite_job(r: &rusqlite::Row<'_>) -> rusqlite::Result<RollJob> {
    Ok(RollJob {
        id: r.get(0)?,
        file_name: r.get(1)?,
        file_bytes: r.get(2)?,
        file_sha256: r.get(3)?,
        as_of: r.get(4)?,
        uploaded_by: r.get(5)?,
        created_at: r.get(6)?,
        instance: r.get(7)?,
        state: r.get(8)?,
        phase: r.get(9)?,
        done_rows: r.get(10)?,
        total_rows: r.get(11)?,
        heartbeat_at: r.get(12)?,
        finished_at: r.get(13)?,
        bad_rows: r.get(14)?,
        errors: errors_of(&r.get::<_, String>(15)?),
        message: r.get(16)?,
        summary: summary_of(r.get(17)?),
    })
}

fn pg_job(r: &tokio_postgres::Row) -> RollJob {
    RollJob {
        id: r.get(0),
        file_name: r.get(1),
        file_bytes: r.get(2),
        file_sha256: r.get(3),
        as_of: r.get(4),
        uploaded_by: r.get(5),
        created_at: r.get(6),
        instance: r.get(7),
        state: r.get(8),
        phase: r.get(9),
        done_rows: r.get(10),
        total_rows: r.get(11),
        heartbeat_at: r.get(12),
        finished_at: r.get(13),
        bad_rows: r.get(14),
        errors: errors_of(r.get::<_, &str>(15)),
        message: r.get(16),
        summary: summary_of(r.get(17)),
    }
}

/// The audit query's WHERE clause with `$n`/`?n` placeholders from `first`,
/// and its values in order (text or integers).
enum Val {
    Text(String),
    Int(i64),
}

fn audit_where(q: &AuditQuery, placeholder: &dyn Fn(usize) -> String) -> (String, Vec<Val>) {
    let mut conds = Vec::new();
    let mut vals = Vec::new();
    let mut add = |cond: &str, v: Val, vals: &mut Vec<Val>| {
        vals.push(v);
        conds.push(cond.replace('#', &placeholder(vals.len())));
    };
    if let Some(a) = &q.actor {
        add("actor = #", Val::Text(a.clone()), &mut vals);
    }
    if let Some(a) = &q.action {
        add("action = #", Val::Text(a.clone()), &mut vals);
    }
    if let Some(t) = q.from {
        add("at >= #", Val::Int(t), &mut vals);
    }
    if let Some(t) = q.to {
        add("at < #", Val::Int(t), &mut vals);
    }
    if let Some(s) = q.before {
        add("seq < #", Val::Int(s), &mut vals);
    }
    if !q.subjects.is_empty() {
        let mut names = Vec::new();
        for s in &q.subjects {
            vals.push(Val::Text(s.clone()));
            names.push(placeholder(vals.len()));
        }
        conds.push(format!("subject IN ({})", names.join(", ")));
    }
    let clause = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    (clause, vals)
}

fn entry_of(seq: i64, at: i64, actor: String, action: String, subject: String, detail: &str) -> AuditEntry {
    AuditEntry {
        seq,
        at,
        actor,
        action,
        subject,
        detail: serde_json::from_str(detail).unwrap_or(serde_json::Value::Null),
    }
}

/// The distinct actions, one index probe each (a "loose index scan").
const ACTIONS_SQL: &str = "WITH RECURSIVE a(action) AS (
        SELECT min(action) FROM audit
        UNION ALL
        SELECT (SELECT min(action) FROM audit WHERE action > a.action) FROM a WHERE a.action IS NOT NULL
    ) SELECT action FROM a WHERE action IS NOT NULL";

#[async_trait::async_trait]
impl AdminStore for SqliteStore {
    async fn set_staff_password(&self, name: &str, password_hash: &str) -> Result<Staff, StoreError> {
        let (n, h) = (name.to_string(), password_hash.to_string());
        let changed = self
            .run(move |conn| Ok(conn.execute("UPDATE staff SET password_hash = ?2 WHERE name = ?1", params![n, h])?))
            .await?;
        if changed == 0 {
            return Err(StoreError::Refused(format!("no staff account {name:?}")));
        }
        RegistryStore::staff(self, name).await?.ok_or_else(|| StoreError::Refused(format!("no staff account {name:?}")))
    }

    async fn create_roll_job(&self, j: NewRollJob) -> Result<i64, StoreError> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO roll_jobs(file_name, file_bytes, file_sha256, as_of, uploaded_by, created_at, instance,
                    state, phase, heartbeat_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running', 'checking', ?6)",
                params![j.file_name, j.file_bytes, j.file_sha256, j.as_of, j.uploaded_by, j.now, j.instance],
            )?;
            Ok(conn.last_insert_rowid())
        })
        .await
    }

    async fn roll_job_progress(&self, id: i64, phase: &str, done: i64, total: i64, now: i64) -> Result<(), StoreError> {
        let phase = phase.to_string();
        self.run(move |conn| {
            conn.execute(
                "UPDATE roll_jobs SET phase = ?2, done_rows = ?3, total_rows = ?4, heartbeat_at = ?5
                 WHERE id = ?1 AND state = 'running'",
                params![id, phase, done, total, now],
            )?;
            Ok(())
        })
        .await
    }

    async fn finish_roll_job(&self, id: i64, e: RollJobEnd) -> Result<(), StoreError> {
        let errors = serde_json::to_string(&e.errors).unwrap_or_else(|_| "[]".into());
        let summary = e.summary.as_ref().map(|s| s.to_string());
        self.run(move |conn| {
            conn.execute(
                "UPDATE roll_jobs SET state = ?2, phase = 'finished', total_rows = ?3,
                    done_rows = CASE WHEN ?2 = 'done' THEN ?3 ELSE done_rows END, bad_rows = ?4, errors = ?5,
                    message = ?6, summary = ?7, finished_at = ?8, heartbeat_at = ?8
                 WHERE id = ?1",
                params![id, e.state, e.total_rows, e.bad_rows, errors, e.message, summary, e.now],
            )?;
            Ok(())
        })
        .await
    }

    async fn roll_job(&self, id: i64) -> Result<Option<RollJob>, StoreError> {
        self.run(move |conn| {
            Ok(conn
                .query_row(&format!("SELECT {JOB_COLS} FROM roll_jobs WHERE id = ?1"), [id], sqlite_job)
                .optional()?)
        })
        .await
    }

    async fn roll_jobs(&self, limit: u32) -> Result<Vec<RollJob>, StoreError> {
        self.run(move |conn| {
            let mut st = conn.prepare(&format!("SELECT {JOB_COLS} FROM roll_jobs ORDER BY id DESC LIMIT ?1"))?;
            Ok(st.query_map([limit], sqlite_job)?.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn audit_page(&self, q: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.run(move |conn| {
            let (clause, vals) = audit_where(&q, &|n| format!("?{n}"));
            let sql = format!(
                "SELECT seq, at, actor, action, subject, detail FROM audit {clause} ORDER BY seq DESC LIMIT {}",
                q.limit.min(1000)
            );
            let values: Vec<rusqlite::types::Value> = vals
                .into_iter()
                .map(|v| match v {
                    Val::Text(s) => rusqlite::types::Value::Text(s),
                    Val::Int(i) => rusqlite::types::Value::Integer(i),
                })
                .collect();
            let mut st = conn.prepare(&sql)?;
            let rows = st
                .query_map(params_from_iter(values), |r| {
                    Ok(entry_of(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, &r.get::<_, String>(5)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        self.run(|conn| {
            let mut st = conn.prepare(ACTIONS_SQL)?;
            Ok(st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[async_trait::async_trait]
impl AdminStore for PgStore {
    async fn set_staff_password(&self, name: &str, password_hash: &str) -> Result<Staff, StoreError> {
        let client = self.pool.get().await?;
        let n = client.execute("UPDATE staff SET password_hash = $2 WHERE name = $1", &[&name, &password_hash]).await?;
        drop(client);
        if n == 0 {
            return Err(StoreError::Refused(format!("no staff account {name:?}")));
        }
        RegistryStore::staff(self, name).await?.ok_or_else(|| StoreError::Refused(format!("no staff account {name:?}")))
    }

    async fn create_roll_job(&self, j: NewRollJob) -> Result<i64, StoreError> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "INSERT INTO roll_jobs(file_name, file_bytes, file_sha256, as_of, uploaded_by, created_at, instance,
                    state, phase, heartbeat_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', 'checking', $6) RETURNING id",
                &[&j.file_name, &j.file_bytes, &j.file_sha256, &j.as_of, &j.uploaded_by, &j.now, &j.instance],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn roll_job_progress(&self, id: i64, phase: &str, done: i64, total: i64, now: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE roll_jobs SET phase = $2, done_rows = $3, total_rows = $4, heartbeat_at = $5
                 WHERE id = $1 AND state = 'running'",
                &[&id, &phase, &done, &total, &now],
            )
            .await?;
        Ok(())
    }

    async fn finish_roll_job(&self, id: i64, e: RollJobEnd) -> Result<(), StoreError> {
        let errors = serde_json::to_string(&e.errors).unwrap_or_else(|_| "[]".into());
        let summary = e.summary.as_ref().map(|s| s.to_string());
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE roll_jobs SET state = $2, phase = 'finished', total_rows = $3,
                    done_rows = CASE WHEN $2 = 'done' THEN $3 ELSE done_rows END, bad_rows = $4, errors = $5,
                    message = $6, summary = $7, finished_at = $8, heartbeat_at = $8
                 WHERE id = $1",
                &[&id, &e.state, &e.total_rows, &e.bad_rows, &errors, &e.message, &summary, &e.now],
            )
            .await?;
        Ok(())
    }

    async fn roll_job(&self, id: i64) -> Result<Option<RollJob>, StoreError> {
        let client = self.pool.get().await?;
        let row = client.query_opt(&format!("SELECT {JOB_COLS} FROM roll_jobs WHERE id = $1"), &[&id]).await?;
        Ok(row.as_ref().map(pg_job))
    }

    async fn roll_jobs(&self, limit: u32) -> Result<Vec<RollJob>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client
            .query(&format!("SELECT {JOB_COLS} FROM roll_jobs ORDER BY id DESC LIMIT $1"), &[&i64::from(limit)])
            .await?;
        Ok(rows.iter().map(pg_job).collect())
    }

    async fn audit_page(&self, q: AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let (clause, vals) = audit_where(&q, &|n| format!("${n}"));
        let sql = format!(
            "SELECT seq, at, actor, action, subject, detail FROM audit {clause} ORDER BY seq DESC LIMIT {}",
            q.limit.min(1000)
        );
        let boxed: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = vals
            .into_iter()
            .map(|v| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                match v {
                    Val::Text(s) => Box::new(s),
                    Val::Int(i) => Box::new(i),
                }
            })
            .collect();
        let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            boxed.iter().map(|b| b.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
        let client = self.pool.get().await?;
        let rows = client.query(&sql, &refs).await?;
        Ok(rows
            .iter()
            .map(|r| entry_of(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get::<_, &str>(5)))
            .collect())
    }

    async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        let client = self.pool.get().await?;
        let rows = client.query(ACTIONS_SQL, &[]).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
