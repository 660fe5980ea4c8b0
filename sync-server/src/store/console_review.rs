//! The console's review work: the duplicate queue, card approvals and batch printing.
//!
//! Decisions on pairs are made inside one transaction that first checks the
//! pair is still pending (a stale page changes nothing); merges reuse the
//! registry's write path (`write_registry`: document, projection, feed,
//! match queue) and the duplicate tables' helpers. Lists are paged with a
//! hard cap, counts are capped ([`COUNT_CAP`]) so no page reads a million
//! rows to print a number.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::postgres::{self, PgStore};
use super::sqlite::{self, SqliteStore};
use super::{StoreError, pg_dedup, sqlite_dedup};
use crate::dedup::{self, FieldValues, Keep, MergeRow, NewAudit, PairRow};

/// Counts above this are shown as "10,000+".
pub const COUNT_CAP: i64 = 10_000;
/// The most rows a list page shows.
pub const MAX_PAGE: u32 = 200;
/// The most cards printed in one batch.
pub const MAX_PRINT: u32 = 500;

/// A resident as a list row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Brief {
    pub id: String,
    pub ward: i64,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub health_id: Option<String>,
    pub status: Option<String>,
    pub merged_into: Option<String>,
    pub has_conflicts: bool,
    pub enrolled_by: Option<String>,
}

impl Brief {
    pub fn name(&self) -> String {
        [self.given_name.as_deref(), self.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
    }
}

/// A pair in the queue with both residents (none: no such resident row).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueRow {
    pub pair: PairRow,
    pub a: Option<Brief>,
    pub b: Option<Brief>,
}

/// A page of the pending queue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queue {
    pub rows: Vec<QueueRow>,
    /// Pending pairs (with the ward filter), at most [`COUNT_CAP`] + 1.
    pub total: i64,
    /// Residents written but not yet compared by the background matcher.
    pub waiting: i64,
    /// When the oldest of them was written (ms).
    pub oldest_waiting: Option<i64>,
}

/// A merge with both residents, for the list of recent merges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeListRow {
    pub merge: MergeRow,
    pub survivor: Option<Brief>,
    pub duplicate: Option<Brief>,
}

/// Why a decision on a pair was refused (nothing changed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairRefusal {
    /// The matcher never proposed these two.
    NoPair,
    /// Someone decided it already.
    Decided { status: String, by: Option<String>, at: Option<i64> },
    /// One of the two was merged into a record since.
    MergedAway { id: String, into: String },
}

/// Why a record cannot be approved for a permanent card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoRecord,
    MergedAway,
    Conflicts,
    PendingPair,
    /// Unverified, moved, deceased or not found.
    Status(String),
    /// No eHealth ID, or not a resident: the card engine's reason.
    NoCard(String),
    AlreadyApproved,
    NotApproved,
}

/// A record approved for a permanent card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    pub record: Brief,
    pub approved_by: String,
    pub approved_at: i64,
    pub printed_at: Option<i64>,
    pub printed_by: Option<String>,
    pub print_count: i64,
}

/// The sections of the approval page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalTab {
    Ready,
    Approved,
    Printed,
}

/// What the approval lists count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ApprovalCounts {
    pub ready: i64,
    pub approved: i64,
    pub printed: i64,
}

/// Whether a resident as stored may get a permanent card.
pub fn card_readiness(record: &ehcard_core::Record) -> Result<(), Refusal> {
    if record.fields.text("merged_into").is_some() {
        return Err(Refusal::MergedAway);
    }
    if !record.conflicts.is_empty() {
        return Err(Refusal::Conflicts);
    }
    match record.fields.text("status") {
        None | Some("verified") => {}
        Some(s) => return Err(Refusal::Status(s.to_string())),
    }
    ehcard_card::CardData::from_record(record).map_err(|e| Refusal::NoCard(e.to_string()))?;
    Ok(())
}

fn read_record(id: &str, doc: &[u8]) -> Result<ehcard_core::Record, StoreError> {
    let corrupt = |e: ehcard_core::DocError| StoreError::Corrupt { id: id.to_string(), message: e.to_string() };
    ehcard_core::RecordDoc::load(doc, &super::server_actor()).map_err(corrupt)?.read().map_err(corrupt)
}

#[async_trait::async_trait]
pub trait ReviewStore {
    /// Pending pairs, best score first, `offset`/`limit` (at most
    /// [`MAX_PAGE`]), optionally only those with a resident in `ward`.
    async fn pending_queue(&self, ward: Option<i64>, offset: u32, limit: u32) -> Result<Queue, StoreError>;
    /// One pair (in either order).
    async fn pair(&self, a: &str, b: &str) -> Result<Option<PairRow>, StoreError>;
    /// The pending pair after (`forward`) or before the pair `from` in
    /// queue order; with `from` none, the first pending pair.
    async fn adjacent_pair(
        &self,
        from: Option<(String, String)>,
        forward: bool,
        ward: Option<i64>,
    ) -> Result<Option<(String, String)>, StoreError>;
    /// Merge `duplicate` into `survivor` if their pair is still pending, and
    /// settle the fields they disagree on with the reviewer's choices, in
    /// one transaction. Returns the merge and the values set.
    async fn merge_pair(
        &self,
        survivor: &str,
        duplicate: &str,
        keep: Vec<(String, Keep)>,
        by: &str,
        now: i64,
    ) -> Result<Result<(MergeRow, FieldValues), PairRefusal>, StoreError>;
    /// Mark a pending pair as two different people.
    async fn pair_not_duplicate(
        &self,
        a: &str,
        b: &str,
        by: &str,
        now: i64,
    ) -> Result<Result<PairRow, PairRefusal>, StoreError>;
    /// Merges, newest first, and how many there are.
    async fn recent_merges(&self, offset: u32, limit: u32) -> Result<(Vec<MergeListRow>, i64), StoreError>;
    /// Set field values on a record as the registry (see
    /// [`super::plan_field_values`]) in one transaction with `audit`:
    /// document, projection, feed (tablets pull it), match queue. Returns
    /// the fields that changed (none: nothing was written).
    async fn registry_edit(
        &self,
        id: &str,
        values: Vec<(String, serde_json::Value)>,
        audit: NewAudit,
    ) -> Result<Vec<String>, StoreError>;

    /// A page of an approval list: `Ready` pages by record id (`after`),
    /// the others by `offset`.
    async fn approval_list(
        &self,
        tab: ApprovalTab,
        ward: Option<i64>,
        after: Option<String>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ApprovalRow>, StoreError>;
    /// How many records each list holds (capped at [`COUNT_CAP`] + 1).
    async fn approval_counts(&self, ward: Option<i64>) -> Result<ApprovalCounts, StoreError>;
    /// Approve records for a permanent card: all of them, or (if any is
    /// refused) none, with the reasons.
    async fn approve(
        &self,
        ids: Vec<String>,
        by: &str,
        now: i64,
    ) -> Result<Result<usize, Vec<(String, Refusal)>>, StoreError>;
    /// Withdraw an approval.
    async fn revoke_approval(&self, id: &str, by: &str, now: i64) -> Result<Result<(), Refusal>, StoreError>;
    /// Approved records to print (not merged away): these ids, or (none)
    /// the oldest approved and not printed, optionally of one ward; at most
    /// `limit`. Each with its document. Ids not approved are reported.
    async fn approved_docs(
        &self,
        ids: Option<Vec<String>>,
        ward: Option<i64>,
        limit: u32,
    ) -> Result<Result<Vec<(String, Vec<u8>)>, Vec<(String, Refusal)>>, StoreError>;
    /// Record that these approved cards were printed (and audit it).
    async fn mark_printed(&self, ids: Vec<String>, by: &str, now: i64) -> Result<(), StoreError>;
}

// ---- SQL, written once for both databases ($N placeholders; SQLite's are ?N).

fn brief_cols(t: &str) -> String {
    format!(
        "{t}.id, {t}.ward, {t}.given_name, {t}.family_name, {t}.name_hi, {t}.health_id, {t}.status, {t}.merged_into, \
         {t}.has_conflicts, {t}.enrolled_by"
    )
}
const BRIEF_N: usize = 10;
const PAIR_COLS: &str = "p.a, p.b, p.score, p.reasons, p.status, p.found_at, p.decided_at, p.decided_by";
const MERGE_COLS: &str =
    "m.id, m.survivor, m.duplicate, m.combination, m.merged_at, m.merged_by, m.undone_at, m.undone_by";
const APPROVAL_COLS: &str = "c.approved_by, c.approved_at, c.printed_at, c.printed_by, c.print_count";

/// A resident may get a card now (the SQL twin of [`card_readiness`],
/// answered by the `residents_card_ready*` indexes).
const READY: &str = "r.merged_into IS NULL AND r.has_conflicts = FALSE AND r.health_id IS NOT NULL
     AND (r.status IS NULL OR r.status = 'verified')
     AND NOT EXISTS (SELECT 1 FROM card_approvals c WHERE c.record_id = r.id)
     AND NOT EXISTS (SELECT 1 FROM duplicate_pairs p WHERE p.a = r.id AND p.status = 'pending')
     AND NOT EXISTS (SELECT 1 FROM duplicate_pairs p WHERE p.b = r.id AND p.status = 'pending')";

fn queue_sql(ward: bool) -> (String, String) {
    let filter = if ward { "AND (ra.ward = $3 OR rb.ward = $3)" } else { "" };
    let rows = format!(
        "SELECT {PAIR_COLS}, {}, {} FROM duplicate_pairs p
         LEFT JOIN residents ra ON ra.id = p.a LEFT JOIN residents rb ON rb.id = p.b
         WHERE p.status = 'pending' {filter}
         ORDER BY p.score DESC, p.found_at, p.a, p.b LIMIT $1 OFFSET $2",
        brief_cols("ra"),
        brief_cols("rb")
    );
    let count = if ward {
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM duplicate_pairs p
             LEFT JOIN residents ra ON ra.id = p.a LEFT JOIN residents rb ON rb.id = p.b
             WHERE p.status = 'pending' AND (ra.ward = $1 OR rb.ward = $1) LIMIT {}) t",
            COUNT_CAP + 1
        )
    } else {
        format!(
            "SELECT count(*) FROM (SELECT 1 FROM duplicate_pairs WHERE status = 'pending' LIMIT {}) t",
            COUNT_CAP + 1
        )
    };
    (rows, count)
}

fn adjacent_sql(from: bool, forward: bool, ward: bool) -> String {
    let ward = if ward {
        "AND EXISTS (SELECT 1 FROM residents r WHERE (r.id = p.a OR r.id = p.b) AND r.ward = $3)"
    } else {
        ""
    };
    if !from {
        let ward = ward.replace("$3", "$1");
        return format!(
            "SELECT p.a, p.b FROM duplicate_pairs p WHERE p.status = 'pending' {ward}
             ORDER BY p.score DESC, p.found_at, p.a, p.b LIMIT 1"
        );
    }
    let (after, order) = if forward {
        (
            "(p.score < cur.score OR (p.score = cur.score AND (p.found_at > cur.found_at
              OR (p.found_at = cur.found_at AND (p.a > cur.a OR (p.a = cur.a AND p.b > cur.b))))))",
            "p.score DESC, p.found_at, p.a, p.b",
        )
    } else {
        (
            "(p.score > cur.score OR (p.score = cur.score AND (p.found_at < cur.found_at
              OR (p.found_at = cur.found_at AND (p.a < cur.a OR (p.a = cur.a AND p.b < cur.b))))))",
            "p.score, p.found_at DESC, p.a DESC, p.b DESC",
        )
    };
    format!(
        "SELECT p.a, p.b FROM duplicate_pairs p,
            (SELECT score, found_at, a, b FROM duplicate_pairs WHERE a = $1 AND b = $2) cur
         WHERE p.status = 'pending' AND {after} {ward} ORDER BY {order} LIMIT 1"
    )
}

const MERGES_SQL: &str = "SELECT {MERGE}, {RS}, {RD} FROM merges m
     LEFT JOIN residents rs ON rs.id = m.survivor LEFT JOIN residents rd ON rd.id = m.duplicate
     ORDER BY m.id DESC LIMIT $1 OFFSET $2";

fn merges_sql() -> String {
    MERGES_SQL.replace("{MERGE}", MERGE_COLS).replace("{RS}", &brief_cols("rs")).replace("{RD}", &brief_cols("rd"))
}

/// The list of an approval tab: ($1 limit, $2 offset or after, $3 ward).
fn approval_sql(tab: ApprovalTab, ward: bool) -> String {
    let ward = if ward { "AND r.ward = $3" } else { "" };
    match tab {
        ApprovalTab::Ready => format!(
            "SELECT {}, '', CAST(0 AS BIGINT), CAST(NULL AS BIGINT), CAST(NULL AS TEXT), CAST(0 AS INTEGER)
             FROM residents r WHERE {READY} AND r.id > $2 {ward}
             ORDER BY r.id LIMIT $1",
            brief_cols("r")
        ),
        ApprovalTab::Approved => format!(
            "SELECT {}, {APPROVAL_COLS} FROM card_approvals c JOIN residents r ON r.id = c.record_id
             WHERE c.printed_at IS NULL {ward} ORDER BY c.approved_at, c.record_id LIMIT $1 OFFSET $2",
            brief_cols("r")
        ),
        ApprovalTab::Printed => format!(
            "SELECT {}, {APPROVAL_COLS} FROM card_approvals c JOIN residents r ON r.id = c.record_id
             WHERE c.printed_at IS NOT NULL {ward} ORDER BY c.printed_at DESC, c.record_id LIMIT $1 OFFSET $2",
            brief_cols("r")
        ),
    }
}

/// Capped counts of the three lists ($1 ward when filtered).
fn approval_count_sql(tab: ApprovalTab, ward: bool) -> String {
    let w = if ward { "AND r.ward = $1" } else { "" };
    let cap = COUNT_CAP + 1;
    match tab {
        ApprovalTab::Ready => {
            format!("SELECT count(*) FROM (SELECT 1 FROM residents r WHERE {READY} {w} LIMIT {cap}) t")
        }
        ApprovalTab::Approved | ApprovalTab::Printed => {
            let printed = if tab == ApprovalTab::Printed { "IS NOT NULL" } else { "IS NULL" };
            if ward {
                format!(
                    "SELECT count(*) FROM (SELECT 1 FROM card_approvals c JOIN residents r ON r.id = c.record_id
                     WHERE c.printed_at {printed} {w} LIMIT {cap}) t"
                )
            } else {
                format!(
                    "SELECT count(*) FROM (SELECT 1 FROM card_approvals c WHERE c.printed_at {printed} LIMIT {cap}) t"
                )
            }
        }
    }
}

fn lite(sql: &str) -> String {
    sql.replace('$', "?")
}

fn clamp(limit: u32) -> u32 {
    limit.clamp(1, MAX_PAGE)
}

fn decided(p: &PairRow) -> PairRefusal {
    PairRefusal::Decided { status: p.status.clone(), by: p.decided_by.clone(), at: p.decided_at }
}

fn approve_audit(action: &str, id: &str, by: &str, now: i64, detail: serde_json::Value) -> NewAudit {
    NewAudit { at: now, actor: by.to_string(), action: action.to_string(), subject: id.to_string(), detail }
}

// ---- SQLite

fn lite_brief(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Brief>> {
    let Some(id) = r.get::<_, Option<String>>(at)? else { return Ok(None) };
    Ok(Some(Brief {
        id,
        ward: r.get(at + 1)?,
        given_name: r.get(at + 2)?,
        family_name: r.get(at + 3)?,
        name_hi: r.get(at + 4)?,
        health_id: r.get(at + 5)?,
        status: r.get(at + 6)?,
        merged_into: r.get(at + 7)?,
        has_conflicts: r.get(at + 8)?,
        enrolled_by: r.get(at + 9)?,
    }))
}

fn lite_merge(r: &rusqlite::Row<'_>) -> rusqlite::Result<MergeRow> {
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
}

fn lite_approval(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<ApprovalRow>> {
    let Some(record) = lite_brief(r, 0)? else { return Ok(None) };
    Ok(Some(ApprovalRow {
        record,
        approved_by: r.get(BRIEF_N)?,
        approved_at: r.get(BRIEF_N + 1)?,
        printed_at: r.get(BRIEF_N + 2)?,
        printed_by: r.get(BRIEF_N + 3)?,
        print_count: r.get(BRIEF_N + 4)?,
    }))
}

/// The pair's row if it may still be decided, else why not.
fn lite_pending(conn: &Connection, a: &str, b: &str) -> Result<Result<PairRow, PairRefusal>, StoreError> {
    let Some(p) = sqlite_dedup::pair(conn, a, b)? else { return Ok(Err(PairRefusal::NoPair)) };
    if p.status != "pending" {
        return Ok(Err(decided(&p)));
    }
    for id in [a, b] {
        let into: Option<Option<String>> =
            conn.query_row("SELECT merged_into FROM residents WHERE id = ?1", [id], |r| r.get(0)).optional()?;
        if let Some(Some(into)) = into {
            return Ok(Err(PairRefusal::MergedAway { id: id.to_string(), into }));
        }
    }
    Ok(Ok(p))
}

fn lite_in_pending_pair(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM duplicate_pairs WHERE (a = ?1 OR b = ?1) AND status = 'pending' LIMIT 1",
            [id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

#[async_trait::async_trait]
impl ReviewStore for SqliteStore {
    async fn pending_queue(&self, ward: Option<i64>, offset: u32, limit: u32) -> Result<Queue, StoreError> {
        let limit = clamp(limit);
        self.run(move |conn| {
            let (rows_sql, count_sql) = queue_sql(ward.is_some());
            let mut st = conn.prepare_cached(&lite(&rows_sql))?;
            let map = |r: &rusqlite::Row<'_>| -> rusqlite::Result<QueueRow> {
                Ok(QueueRow { pair: sqlite_dedup::pair_row(r)?, a: lite_brief(r, 8)?, b: lite_brief(r, 8 + BRIEF_N)? })
            };
            let rows = match ward {
                Some(w) => st.query_map(params![limit, offset, w], map)?.collect::<Result<Vec<_>, _>>()?,
                None => st.query_map(params![limit, offset], map)?.collect::<Result<Vec<_>, _>>()?,
            };
            let total: i64 = match ward {
                Some(w) => conn.query_row(&lite(&count_sql), [w], |r| r.get(0))?,
                None => conn.query_row(&count_sql, [], |r| r.get(0))?,
            };
            let (waiting, oldest_waiting): (i64, Option<i64>) =
                conn.query_row("SELECT count(*), min(queued_at) FROM match_queue", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(Queue { rows, total, waiting, oldest_waiting })
        })
        .await
    }

    async fn pair(&self, a: &str, b: &str) -> Result<Option<PairRow>, StoreError> {
        let (a, b) = (a.to_string(), b.to_string());
        self.run(move |conn| sqlite_dedup::pair(conn, &a, &b)).await
    }

    async fn adjacent_pair(
        &self,
        from: Option<(String, String)>,
        forward: bool,
        ward: Option<i64>,
    ) -> Result<Option<(String, String)>, StoreError> {
        self.run(move |conn| {
            let sql = lite(&adjacent_sql(from.is_some(), forward, ward.is_some()));
            let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?));
            let found = match (&from, ward) {
                (Some((a, b)), Some(w)) => {
                    let (a, b) = dedup::ordered(a, b);
                    conn.query_row(&sql, params![a, b, w], map).optional()?
                }
                (Some((a, b)), None) => {
                    let (a, b) = dedup::ordered(a, b);
                    conn.query_row(&sql, params![a, b], map).optional()?
                }
                (None, Some(w)) => conn.query_row(&sql, [w], map).optional()?,
                (None, None) => conn.query_row(&sql, [], map).optional()?,
            };
            Ok(found)
        })
        .await
    }

    async fn merge_pair(
        &self,
        survivor: &str,
        duplicate: &str,
        keep: Vec<(String, Keep)>,
        by: &str,
        now: i64,
    ) -> Result<Result<(MergeRow, FieldValues), PairRefusal>, StoreError> {
        let (survivor, duplicate, by) = (survivor.to_string(), duplicate.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            if let Err(r) = lite_pending(&tx, &survivor, &duplicate)? {
                return Ok(Err(r));
            }
            let (s, d) = (sqlite::resident_doc(&tx, &survivor)?, sqlite::resident_doc(&tx, &duplicate)?);
            let (writes, combination, values) =
                dedup::plan_merge_settled((&survivor, &s), (&duplicate, &d), &keep, &by, now)?;
            let row = sqlite::write_merge(&tx, &survivor, &duplicate, &writes, combination, &by, now)?;
            let mut audit = dedup::merge_audit("merge", &row, &by, now, &[]);
            audit.detail["chosen"] = serde_json::json!(values);
            audit.detail["via"] = "console".into();
            sqlite_dedup::audit(&tx, &audit)?;
            tx.commit()?;
            Ok(Ok((row, values)))
        })
        .await
    }

    async fn pair_not_duplicate(
        &self,
        a: &str,
        b: &str,
        by: &str,
        now: i64,
    ) -> Result<Result<PairRow, PairRefusal>, StoreError> {
        let (a, b, by) = (a.to_string(), b.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            if let Err(r) = lite_pending(&tx, &a, &b)? {
                return Ok(Err(r));
            }
            sqlite_dedup::decide(&tx, &a, &b, "not_duplicate", &by, now)?;
            sqlite_dedup::audit(&tx, &dedup::decision_audit("not_duplicate", &a, &b, &by, now))?;
            let row = sqlite_dedup::pair(&tx, &a, &b)?.ok_or_else(|| StoreError::NoRecord(format!("{a} / {b}")))?;
            tx.commit()?;
            Ok(Ok(row))
        })
        .await
    }

    async fn recent_merges(&self, offset: u32, limit: u32) -> Result<(Vec<MergeListRow>, i64), StoreError> {
        let limit = clamp(limit);
        self.run(move |conn| {
            let mut st = conn.prepare_cached(&lite(&merges_sql()))?;
            let rows = st
                .query_map(params![limit, offset], |r| {
                    Ok(MergeListRow {
                        merge: lite_merge(r)?,
                        survivor: lite_brief(r, 8)?,
                        duplicate: lite_brief(r, 8 + BRIEF_N)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let total: i64 = conn.query_row("SELECT count(*) FROM merges", [], |r| r.get(0))?;
            Ok((rows, total))
        })
        .await
    }

    async fn registry_edit(
        &self,
        id: &str,
        values: Vec<(String, serde_json::Value)>,
        audit: NewAudit,
    ) -> Result<Vec<String>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let doc: Vec<u8> = tx
                .query_row("SELECT data FROM docs WHERE id = ?1", [&id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::NoRecord(id.clone()))?;
            let Some((write, changed)) = super::plan_field_values(&id, &doc, &values, &audit.actor, audit.at)? else {
                return Ok(Vec::new());
            };
            sqlite::write_registry(&tx, std::slice::from_ref(&write), audit.at)?;
            let mut audit = audit;
            audit.detail["changed"] = serde_json::json!(changed);
            sqlite_dedup::audit(&tx, &audit)?;
            tx.commit()?;
            Ok(changed)
        })
        .await
    }

    async fn approval_list(
        &self,
        tab: ApprovalTab,
        ward: Option<i64>,
        after: Option<String>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ApprovalRow>, StoreError> {
        let limit = clamp(limit);
        self.run(move |conn| {
            let mut st = conn.prepare_cached(&lite(&approval_sql(tab, ward.is_some())))?;
            let second: rusqlite::types::Value = match tab {
                ApprovalTab::Ready => after.unwrap_or_default().into(),
                _ => i64::from(offset).into(),
            };
            let rows = match ward {
                Some(w) => st.query_map(params![limit, second, w], lite_approval)?.collect::<Result<Vec<_>, _>>()?,
                None => st.query_map(params![limit, second], lite_approval)?.collect::<Result<Vec<_>, _>>()?,
            };
            Ok(rows.into_iter().flatten().collect())
        })
        .await
    }

    async fn approval_counts(&self, ward: Option<i64>) -> Result<ApprovalCounts, StoreError> {
        self.run(move |conn| {
            let count = |tab| -> Result<i64, StoreError> {
                let sql = lite(&approval_count_sql(tab, ward.is_some()));
                Ok(match ward {
                    Some(w) => conn.query_row(&sql, [w], |r| r.get(0))?,
                    None => conn.query_row(&sql, [], |r| r.get(0))?,
                })
            };
            Ok(ApprovalCounts {
                ready: count(ApprovalTab::Ready)?,
                approved: count(ApprovalTab::Approved)?,
                printed: count(ApprovalTab::Printed)?,
            })
        })
        .await
    }

    async fn approve(
        &self,
        ids: Vec<String>,
        by: &str,
        now: i64,
    ) -> Result<Result<usize, Vec<(String, Refusal)>>, StoreError> {
        let by = by.to_string();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let mut refused = Vec::new();
            for id in &ids {
                let doc: Option<Vec<u8>> =
                    tx.query_row("SELECT data FROM docs WHERE id = ?1", [id], |r| r.get(0)).optional()?;
                let Some(doc) = doc else {
                    refused.push((id.clone(), Refusal::NoRecord));
                    continue;
                };
                if let Err(r) = card_readiness(&read_record(id, &doc)?) {
                    refused.push((id.clone(), r));
                } else if lite_in_pending_pair(&tx, id)? {
                    refused.push((id.clone(), Refusal::PendingPair));
                } else {
                    let n = tx.execute(
                        "INSERT INTO card_approvals(record_id, approved_by, approved_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(record_id) DO NOTHING",
                        params![id, by, now],
                    )?;
                    if n == 0 {
                        refused.push((id.clone(), Refusal::AlreadyApproved));
                    } else {
                        sqlite_dedup::audit(
                            &tx,
                            &approve_audit("console.approve", id, &by, now, serde_json::json!({})),
                        )?;
                    }
                }
            }
            if !refused.is_empty() {
                return Ok(Err(refused));
            }
            tx.commit()?;
            Ok(Ok(ids.len()))
        })
        .await
    }

    async fn revoke_approval(&self, id: &str, by: &str, now: i64) -> Result<Result<(), Refusal>, StoreError> {
        let (id, by) = (id.to_string(), by.to_string());
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let row: Option<(Option<i64>, i64)> = tx
                .query_row("SELECT printed_at, print_count FROM card_approvals WHERE record_id = ?1", [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let Some((printed_at, count)) = row else { return Ok(Err(Refusal::NotApproved)) };
            tx.execute("DELETE FROM card_approvals WHERE record_id = ?1", [&id])?;
            let detail = serde_json::json!({"printed_at": printed_at, "print_count": count});
            sqlite_dedup::audit(&tx, &approve_audit("console.approval_revoke", &id, &by, now, detail))?;
            tx.commit()?;
            Ok(Ok(()))
        })
        .await
    }

    async fn approved_docs(
        &self,
        ids: Option<Vec<String>>,
        ward: Option<i64>,
        limit: u32,
    ) -> Result<Result<Vec<(String, Vec<u8>)>, Vec<(String, Refusal)>>, StoreError> {
        let limit = limit.clamp(1, MAX_PRINT);
        self.run(move |conn| {
            let ids: Vec<String> = match ids {
                Some(ids) => ids,
                None => {
                    let sql = format!(
                        "SELECT c.record_id FROM card_approvals c JOIN residents r ON r.id = c.record_id
                         WHERE c.printed_at IS NULL AND r.merged_into IS NULL {}
                         ORDER BY c.approved_at, c.record_id LIMIT ?1",
                        if ward.is_some() { "AND r.ward = ?2" } else { "" }
                    );
                    let mut st = conn.prepare_cached(&sql)?;
                    let map = |r: &rusqlite::Row<'_>| r.get::<_, String>(0);
                    match ward {
                        Some(w) => st.query_map(params![limit, w], map)?.collect::<Result<Vec<_>, _>>()?,
                        None => st.query_map(params![limit], map)?.collect::<Result<Vec<_>, _>>()?,
                    }
                }
            };
            let mut out = Vec::new();
            let mut refused = Vec::new();
            let mut st = conn.prepare_cached(
                "SELECT d.data, r.merged_into FROM card_approvals c JOIN docs d ON d.id = c.record_id
                 JOIN residents r ON r.id = c.record_id WHERE c.record_id = ?1",
            )?;
            for id in ids.into_iter().take(limit as usize) {
                let row: Option<(Vec<u8>, Option<String>)> =
                    st.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
                match row {
                    None => refused.push((id, Refusal::NotApproved)),
                    Some((_, Some(_))) => refused.push((id, Refusal::MergedAway)),
                    Some((doc, None)) => out.push((id, doc)),
                }
            }
            Ok(if refused.is_empty() { Ok(out) } else { Err(refused) })
        })
        .await
    }

    async fn mark_printed(&self, ids: Vec<String>, by: &str, now: i64) -> Result<(), StoreError> {
        let by = by.to_string();
        self.run(move |conn| {
            let tx = conn.transaction()?;
            for id in &ids {
                tx.execute(
                    "UPDATE card_approvals SET printed_at = ?2, printed_by = ?3, print_count = print_count + 1
                     WHERE record_id = ?1",
                    params![id, now, by],
                )?;
                let detail = serde_json::json!({"batch": ids.len()});
                sqlite_dedup::audit(&tx, &approve_audit("console.print_card", id, &by, now, detail))?;
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

// ---- PostgreSQL

fn pg_brief(r: &tokio_postgres::Row, at: usize) -> Option<Brief> {
    let id: Option<String> = r.get(at);
    Some(Brief {
        id: id?,
        ward: i64::from(r.get::<_, i32>(at + 1)),
        given_name: r.get(at + 2),
        family_name: r.get(at + 3),
        name_hi: r.get(at + 4),
        health_id: r.get(at + 5),
        status: r.get(at + 6),
        merged_into: r.get(at + 7),
        has_conflicts: r.get(at + 8),
        enrolled_by: r.get(at + 9),
    })
}

fn pg_merge(r: &tokio_postgres::Row) -> MergeRow {
    MergeRow {
        id: r.get(0),
        survivor: r.get(1),
        duplicate: r.get(2),
        combination: serde_json::from_str(r.get::<_, &str>(3)).unwrap_or_default(),
        merged_at: r.get(4),
        merged_by: r.get(5),
        undone_at: r.get(6),
        undone_by: r.get(7),
    }
}

fn pg_approval(r: &tokio_postgres::Row) -> Option<ApprovalRow> {
    Some(ApprovalRow {
        record: pg_brief(r, 0)?,
        approved_by: r.get(BRIEF_N),
        approved_at: r.get(BRIEF_N + 1),
        printed_at: r.get(BRIEF_N + 2),
        printed_by: r.get(BRIEF_N + 3),
        print_count: i64::from(r.get::<_, i32>(BRIEF_N + 4)),
    })
}

async fn pg_pending(
    tx: &deadpool_postgres::Transaction<'_>,
    a: &str,
    b: &str,
) -> Result<Result<PairRow, PairRefusal>, StoreError> {
    let (x, y) = dedup::ordered(a, b);
    // Lock the pair: a second reviewer deciding it at once waits, then sees it decided.
    let row = tx
        .query_opt(&format!("SELECT {PAIR_COLS} FROM duplicate_pairs p WHERE a = $1 AND b = $2 FOR UPDATE"), &[&x, &y])
        .await?;
    let Some(p) = row.as_ref().map(pg_dedup::pair_row) else { return Ok(Err(PairRefusal::NoPair)) };
    if p.status != "pending" {
        return Ok(Err(decided(&p)));
    }
    for id in [a, b] {
        let into: Option<String> = tx
            .query_opt("SELECT merged_into FROM residents WHERE id = $1", &[&id])
            .await?
            .and_then(|r| r.get::<_, Option<String>>(0));
        if let Some(into) = into {
            return Ok(Err(PairRefusal::MergedAway { id: id.to_string(), into }));
        }
    }
    Ok(Ok(p))
}

#[async_trait::async_trait]
impl ReviewStore for PgStore {
    async fn pending_queue(&self, ward: Option<i64>, offset: u32, limit: u32) -> Result<Queue, StoreError> {
        let client = self.pool.get().await?;
        let (limit, offset) = (i64::from(clamp(limit)), i64::from(offset));
        let (rows_sql, count_sql) = queue_sql(ward.is_some());
        let (rows, total) = match ward {
            Some(w) => {
                let w = w as i32;
                (
                    client.query(&rows_sql, &[&limit, &offset, &w]).await?,
                    client.query_one(&count_sql, &[&w]).await?.get::<_, i64>(0),
                )
            }
            None => {
                (client.query(&rows_sql, &[&limit, &offset]).await?, client.query_one(&count_sql, &[]).await?.get(0))
            }
        };
        let rows = rows
            .iter()
            .map(|r| QueueRow { pair: pg_dedup::pair_row(r), a: pg_brief(r, 8), b: pg_brief(r, 8 + BRIEF_N) })
            .collect();
        let q = client.query_one("SELECT count(*), min(queued_at) FROM match_queue", &[]).await?;
        Ok(Queue { rows, total, waiting: q.get(0), oldest_waiting: q.get(1) })
    }

    async fn pair(&self, a: &str, b: &str) -> Result<Option<PairRow>, StoreError> {
        pg_dedup::pair(&self.pool.get().await?, a, b).await
    }

    async fn adjacent_pair(
        &self,
        from: Option<(String, String)>,
        forward: bool,
        ward: Option<i64>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let client = self.pool.get().await?;
        let sql = adjacent_sql(from.is_some(), forward, ward.is_some());
        let ward = ward.map(|w| w as i32);
        let row = match (&from, &ward) {
            (Some((a, b)), Some(w)) => {
                let (a, b) = dedup::ordered(a, b);
                client.query_opt(&sql, &[&a, &b, w]).await?
            }
            (Some((a, b)), None) => {
                let (a, b) = dedup::ordered(a, b);
                client.query_opt(&sql, &[&a, &b]).await?
            }
            (None, Some(w)) => client.query_opt(&sql, &[w]).await?,
            (None, None) => client.query_opt(&sql, &[]).await?,
        };
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    async fn merge_pair(
        &self,
        survivor: &str,
        duplicate: &str,
        keep: Vec<(String, Keep)>,
        by: &str,
        now: i64,
    ) -> Result<Result<(MergeRow, FieldValues), PairRefusal>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Documents in id order, as pushes lock them, then the pair.
        let (first, second) = if survivor < duplicate { (survivor, duplicate) } else { (duplicate, survivor) };
        let x = postgres::resident_doc(&tx, first).await?;
        let y = postgres::resident_doc(&tx, second).await?;
        if let Err(r) = pg_pending(&tx, survivor, duplicate).await? {
            return Ok(Err(r));
        }
        let (s, d) = if survivor < duplicate { (x, y) } else { (y, x) };
        let (writes, combination, values) =
            tokio::task::block_in_place(|| dedup::plan_merge_settled((survivor, &s), (duplicate, &d), &keep, by, now))?;
        let row = postgres::write_merge(&tx, survivor, duplicate, &writes, combination, by, now).await?;
        let mut audit = dedup::merge_audit("merge", &row, by, now, &[]);
        audit.detail["chosen"] = serde_json::json!(values);
        audit.detail["via"] = "console".into();
        pg_dedup::audit(&tx, &audit).await?;
        tx.commit().await?;
        Ok(Ok((row, values)))
    }

    async fn pair_not_duplicate(
        &self,
        a: &str,
        b: &str,
        by: &str,
        now: i64,
    ) -> Result<Result<PairRow, PairRefusal>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if let Err(r) = pg_pending(&tx, a, b).await? {
            return Ok(Err(r));
        }
        pg_dedup::decide(&tx, a, b, "not_duplicate", by, now).await?;
        pg_dedup::audit(&tx, &dedup::decision_audit("not_duplicate", a, b, by, now)).await?;
        let row = pg_dedup::pair(&tx, a, b).await?.ok_or_else(|| StoreError::NoRecord(format!("{a} / {b}")))?;
        tx.commit().await?;
        Ok(Ok(row))
    }

    async fn recent_merges(&self, offset: u32, limit: u32) -> Result<(Vec<MergeListRow>, i64), StoreError> {
        let client = self.pool.get().await?;
        let (limit, offset) = (i64::from(clamp(limit)), i64::from(offset));
        let rows = client.query(&merges_sql(), &[&limit, &offset]).await?;
        let rows = rows
            .iter()
            .map(|r| MergeListRow { merge: pg_merge(r), survivor: pg_brief(r, 8), duplicate: pg_brief(r, 8 + BRIEF_N) })
            .collect();
        let total: i64 = client.query_one("SELECT count(*) FROM merges", &[]).await?.get(0);
        Ok((rows, total))
    }

    async fn registry_edit(
        &self,
        id: &str,
        values: Vec<(String, serde_json::Value)>,
        audit: NewAudit,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let doc: Vec<u8> = tx
            .query_opt("SELECT data FROM docs WHERE id = $1 FOR UPDATE", &[&id])
            .await?
            .map(|r| r.get(0))
            .ok_or_else(|| StoreError::NoRecord(id.to_string()))?;
        let planned =
            tokio::task::block_in_place(|| super::plan_field_values(id, &doc, &values, &audit.actor, audit.at))?;
        let Some((write, changed)) = planned else { return Ok(Vec::new()) };
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&postgres::FEED_LOCK]).await?;
        postgres::write_registry(&tx, std::slice::from_ref(&write), audit.at).await?;
        let mut audit = audit;
        audit.detail["changed"] = serde_json::json!(changed);
        pg_dedup::audit(&tx, &audit).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn approval_list(
        &self,
        tab: ApprovalTab,
        ward: Option<i64>,
        after: Option<String>,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<ApprovalRow>, StoreError> {
        let client = self.pool.get().await?;
        let sql = approval_sql(tab, ward.is_some());
        let limit = i64::from(clamp(limit));
        let after = after.unwrap_or_default();
        let offset = i64::from(offset);
        let second: &(dyn tokio_postgres::types::ToSql + Sync) =
            if tab == ApprovalTab::Ready { &after } else { &offset };
        let rows = match ward {
            Some(w) => client.query(&sql, &[&limit, second, &(w as i32)]).await?,
            None => client.query(&sql, &[&limit, second]).await?,
        };
        Ok(rows.iter().filter_map(pg_approval).collect())
    }

    async fn approval_counts(&self, ward: Option<i64>) -> Result<ApprovalCounts, StoreError> {
        let client = self.pool.get().await?;
        let w = ward.map(|w| w as i32);
        let mut out = [0i64; 3];
        for (i, tab) in [ApprovalTab::Ready, ApprovalTab::Approved, ApprovalTab::Printed].into_iter().enumerate() {
            let sql = approval_count_sql(tab, w.is_some());
            let row = match &w {
                Some(w) => client.query_one(&sql, &[w]).await?,
                None => client.query_one(&sql, &[]).await?,
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = row.get(0);
            }
        }
        let [ready, approved, printed] = out;
        Ok(ApprovalCounts { ready, approved, printed })
    }

    async fn approve(
        &self,
        ids: Vec<String>,
        by: &str,
        now: i64,
    ) -> Result<Result<usize, Vec<(String, Refusal)>>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let mut refused = Vec::new();
        let mut sorted = ids.clone();
        sorted.sort();
        for id in &sorted {
            let Some(row) = tx.query_opt("SELECT data FROM docs WHERE id = $1 FOR SHARE", &[id]).await? else {
                refused.push((id.clone(), Refusal::NoRecord));
                continue;
            };
            let doc: Vec<u8> = row.get(0);
            let ready = tokio::task::block_in_place(|| read_record(id, &doc).map(|r| card_readiness(&r)))?;
            if let Err(r) = ready {
                refused.push((id.clone(), r));
                continue;
            }
            let pending = tx
                .query_opt(
                    "SELECT 1 FROM duplicate_pairs WHERE (a = $1 OR b = $1) AND status = 'pending' LIMIT 1",
                    &[id],
                )
                .await?;
            if pending.is_some() {
                refused.push((id.clone(), Refusal::PendingPair));
                continue;
            }
            let n = tx
                .execute(
                    "INSERT INTO card_approvals(record_id, approved_by, approved_at) VALUES ($1, $2, $3)
                     ON CONFLICT (record_id) DO NOTHING",
                    &[id, &by, &now],
                )
                .await?;
            if n == 0 {
                refused.push((id.clone(), Refusal::AlreadyApproved));
            } else {
                pg_dedup::audit(&tx, &approve_audit("console.approve", id, by, now, serde_json::json!({}))).await?;
            }
        }
        if !refused.is_empty() {
            return Ok(Err(refused));
        }
        tx.commit().await?;
        Ok(Ok(ids.len()))
    }

    async fn revoke_approval(&self, id: &str, by: &str, now: i64) -> Result<Result<(), Refusal>, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt("DELETE FROM card_approvals WHERE record_id = $1 RETURNING printed_at, print_count", &[&id])
            .await?
        else {
            return Ok(Err(Refusal::NotApproved));
        };
        let (printed_at, count): (Option<i64>, i32) = (row.get(0), row.get(1));
        let detail = serde_json::json!({"printed_at": printed_at, "print_count": count});
        pg_dedup::audit(&tx, &approve_audit("console.approval_revoke", id, by, now, detail)).await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn approved_docs(
        &self,
        ids: Option<Vec<String>>,
        ward: Option<i64>,
        limit: u32,
    ) -> Result<Result<Vec<(String, Vec<u8>)>, Vec<(String, Refusal)>>, StoreError> {
        let client = self.pool.get().await?;
        let limit = i64::from(limit.clamp(1, MAX_PRINT));
        let ids: Vec<String> = match ids {
            Some(mut ids) => {
                ids.truncate(limit as usize);
                ids
            }
            None => {
                let sql = format!(
                    "SELECT c.record_id FROM card_approvals c JOIN residents r ON r.id = c.record_id
                     WHERE c.printed_at IS NULL AND r.merged_into IS NULL {}
                     ORDER BY c.approved_at, c.record_id LIMIT $1",
                    if ward.is_some() { "AND r.ward = $2" } else { "" }
                );
                let rows = match ward {
                    Some(w) => client.query(&sql, &[&limit, &(w as i32)]).await?,
                    None => client.query(&sql, &[&limit]).await?,
                };
                rows.iter().map(|r| r.get(0)).collect()
            }
        };
        let rows = client
            .query(
                "SELECT c.record_id, d.data, r.merged_into FROM card_approvals c JOIN docs d ON d.id = c.record_id
                 JOIN residents r ON r.id = c.record_id WHERE c.record_id = ANY($1)",
                &[&ids],
            )
            .await?;
        let mut found: std::collections::HashMap<String, (Vec<u8>, Option<String>)> =
            rows.into_iter().map(|r| (r.get(0), (r.get(1), r.get(2)))).collect();
        let mut out = Vec::new();
        let mut refused = Vec::new();
        for id in ids {
            match found.remove(&id) {
                None => refused.push((id, Refusal::NotApproved)),
                Some((_, Some(_))) => refused.push((id, Refusal::MergedAway)),
                Some((doc, None)) => out.push((id, doc)),
            }
        }
        Ok(if refused.is_empty() { Ok(out) } else { Err(refused) })
    }

    async fn mark_printed(&self, ids: Vec<String>, by: &str, now: i64) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "UPDATE card_approvals SET printed_at = $2, printed_by = $3, print_count = print_count + 1
             WHERE record_id = ANY($1)",
            &[&ids, &now, &by],
        )
        .await?;
        let detail = serde_json::json!({"batch": ids.len()});
        for id in &ids {
            pg_dedup::audit(&tx, &approve_audit("console.print_card", id, by, now, detail.clone())).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
