//! Duplicates in the registry: candidate pairs found after every write,
//! the reviewers' queue, and the two resolutions — merge (reversible) and
//! "not a duplicate".
//!
//! Every resident's projection carries the matcher's view of it
//! (`match_people`) and its blocking keys (`match_keys`); a record merged
//! away has neither. After a push, a roll import or a merge, the written
//! residents are compared with everyone sharing a key, across all wards
//! ([`drain`], from the durable `match_queue`); `ehcard-server duplicates --rescan` runs the whole
//! registry through [`ehcard_match::find_pairs`]. A pair is stored once
//! (`a < b`); a decided pair is never reopened by a later scan.

use std::collections::HashSet;

use automerge::ActorId;
use chrono::{DateTime, Utc};
use ehcard_core::EditContext;
use ehcard_core::combine::{Combination, CombineError, combine, uncombine};
use ehcard_core::doc::RecordDoc;
use ehcard_core::merge::heads_to_hex;
use ehcard_match::{Person, Reason};
use serde::{Deserialize, Serialize};

use crate::store::{DynStore, Projection, StoreError, Write};

/// Who the registry's own edits are attributed to in the feed.
pub const FEED_DEVICE: &str = "registry";

/// A resident written and waiting in the match queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub id: String,
    /// The record's `updated_at` when queued (a newer write replaces it).
    pub queued_at: i64,
    /// The matcher's view (JSON of `Person`); `None`: merged away.
    pub person: Option<String>,
    pub keys: Vec<String>,
}

/// A candidate pair to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPair {
    pub a: String,
    pub b: String,
    pub score: f32,
    pub reasons: Vec<Reason>,
}

/// A pair as the queue shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRow {
    pub a: String,
    pub b: String,
    pub score: f32,
    pub reasons: Vec<Reason>,
    /// `pending`, `merged`, `not_duplicate`, or `superseded` (one side was
    /// merged into a third record).
    pub status: String,
    pub found_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
}

/// A merge as the registry remembers it (for undo and the audit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRow {
    pub id: i64,
    pub survivor: String,
    pub duplicate: String,
    pub combination: Combination,
    pub merged_at: i64,
    pub merged_by: String,
    pub undone_at: Option<i64>,
    pub undone_by: Option<String>,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    /// A staff account, `admin` on the command line, or a device id.
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// An audit line to append.
#[derive(Debug, Clone)]
pub struct NewAudit {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: serde_json::Value,
}

/// `(a, b)` in the order pairs are stored.
pub fn ordered(a: &str, b: &str) -> (String, String) {
    if a < b { (a.to_string(), b.to_string()) } else { (b.to_string(), a.to_string()) }
}

/// Residents compared per step of [`drain`].
const FIND_CHUNK: u32 = 2000;
/// For each blocking key, how many of the people sharing it a newcomer is
/// compared with (the most recently made). A block of a very common name
/// and birth decade can hold thousands citywide; `duplicates --rescan`
/// compares whole blocks through the matcher's windows.
pub const PER_KEY: u32 = 200;

/// Compare every resident waiting in the match queue (written by a push,
/// an import or a merge) with the people sharing its keys, across all
/// wards, and queue the new pairs. Returns (residents compared, new pairs).
/// The queue is a table written with the records, so work cut off by a
/// crash is picked up by the next drain.
pub async fn drain(store: &DynStore, now: i64) -> Result<(usize, usize), StoreError> {
    let (mut compared, mut added) = (0, 0);
    loop {
        let items = store.queued(FIND_CHUNK).await?;
        if items.is_empty() {
            return Ok((compared, added));
        }
        store.index_queued(items.clone()).await?;
        let people: Vec<Person> =
            items.iter().filter_map(|q| q.person.as_deref()).filter_map(|j| serde_json::from_str(j).ok()).collect();
        compared += people.len();
        added += find_for_people(store, people, now).await?;
        store.dequeue(items).await?;
    }
}

/// Drain a big queue (after a roll import): index everyone queued, then
/// compare the whole registry through the matcher's blocking, which is
/// cheaper than looking up each newcomer's blocks one by one.
pub async fn drain_bulk(store: &DynStore, now: i64) -> Result<(usize, usize), StoreError> {
    let mut compared = 0;
    loop {
        let items = store.queued(FIND_CHUNK * 5).await?;
        if items.is_empty() {
            break;
        }
        compared += items.iter().filter(|q| q.person.is_some()).count();
        store.index_queued(items.clone()).await?;
        store.dequeue(items).await?;
    }
    if compared == 0 {
        return Ok((0, 0));
    }
    let (_, added) = rescan(store, now).await?;
    Ok((compared, added))
}

/// Drain the match queue in the background. Matching waits for a lull of
/// two seconds without pushes (so the evening rush is served first), but
/// no more than half a minute after the first write it has not seen.
pub fn spawn_matcher(
    store: DynStore,
    clock: std::sync::Arc<dyn Fn() -> i64 + Send + Sync>,
) -> std::sync::Arc<tokio::sync::Notify> {
    use std::time::Duration;
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    let wake = notify.clone();
    tokio::spawn(async move {
        loop {
            // Something was written (or a periodic retry).
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_secs(2)) => break,
                    _ = tokio::time::sleep_until(deadline) => break,
                }
            }
            match drain(&store, clock()).await {
                Ok((_, 0)) => {}
                Ok((n, pairs)) => tracing::info!(compared = n, pairs, "new candidate duplicates"),
                Err(e) => tracing::error!(error = %e, "finding duplicates failed; retrying in 30 s"),
            }
        }
    });
    notify
}

async fn find_for_people(store: &DynStore, new: Vec<Person>, now: i64) -> Result<usize, StoreError> {
    if new.is_empty() {
        return Ok(0);
    }
    let keys: Vec<String> =
        new.iter().flat_map(ehcard_match::blocking_keys).collect::<HashSet<_>>().into_iter().collect();
    // Everyone sharing a key, the new people among them; the matcher's own
    // blocking keeps a big block (a common name) near-linear.
    let candidates = store.people_by_keys(keys, PER_KEY).await?;
    let fresh: HashSet<&str> = new.iter().map(|p| p.id.as_str()).collect();
    let pairs: Vec<NewPair> = tokio::task::block_in_place(|| ehcard_match::find_pairs(&candidates))
        .into_iter()
        .filter(|p| fresh.contains(candidates[p.a].id.as_str()) || fresh.contains(candidates[p.b].id.as_str()))
        .map(|p| {
            let (a, b) = ordered(&candidates[p.a].id, &candidates[p.b].id);
            NewPair { a, b, score: p.m.score, reasons: p.m.reasons }
        })
        .collect();
    store.add_pairs(pairs, now).await
}

/// Compare every resident with every other (through blocking) and queue
/// the pairs not seen before. Returns (pairs found, pairs new).
pub async fn rescan(store: &DynStore, now: i64) -> Result<(usize, usize), StoreError> {
    let people = store.all_people().await?;
    let pairs: Vec<NewPair> = ehcard_match::find_pairs(&people)
        .into_iter()
        .map(|p| {
            let (a, b) = ordered(&people[p.a].id, &people[p.b].id);
            NewPair { a, b, score: p.m.score, reasons: p.m.reasons }
        })
        .collect();
    let found = pairs.len();
    let added = store.add_pairs(pairs, now).await?;
    Ok((found, added))
}

/// The registry's actor for merges and undos.
pub fn merge_actor() -> ActorId {
    ActorId::from(b"ehcard-registry-merge".as_slice())
}

fn edit_context(now: i64, by: &str) -> EditContext {
    EditContext::new(DateTime::<Utc>::from_timestamp(now, 0).unwrap_or_default(), by.to_string())
}

fn refused(e: CombineError) -> StoreError {
    match e {
        CombineError::Doc(e) => StoreError::Corrupt { id: String::new(), message: e.to_string() },
        e => StoreError::Refused(e.to_string()),
    }
}

/// The writes of a merge or an undo: both documents with their changes.
fn writes(docs: [(&str, &mut RecordDoc, Vec<automerge::ChangeHash>); 2]) -> Result<Vec<Write>, StoreError> {
    let mut out = Vec::new();
    for (id, doc, before) in docs {
        let record = doc.read().map_err(|e| refused(e.into()))?;
        out.push(Write {
            id: id.to_string(),
            new_changes: doc.save_after(&before),
            doc: doc.save(),
            heads_json: serde_json::to_string(&heads_to_hex(&doc.heads())).unwrap_or_default(),
            projection: Box::new(Projection::of(&record)),
            created: false,
            first: true,
        });
    }
    Ok(out)
}

/// Merge the stored `duplicate` into `survivor` (saved documents): the
/// writes for both and what the merge changed.
pub fn plan_merge(
    survivor: (&str, &[u8]),
    duplicate: (&str, &[u8]),
    by: &str,
    now: i64,
) -> Result<(Vec<Write>, Combination), StoreError> {
    let corrupt = |e: ehcard_core::DocError| refused(e.into());
    let mut s = RecordDoc::load(survivor.1, &merge_actor()).map_err(corrupt)?;
    let mut d = RecordDoc::load(duplicate.1, &merge_actor()).map_err(corrupt)?;
    let (sh, dh) = (s.heads(), d.heads());
    let c = combine(&mut s, &mut d, &edit_context(now, by)).map_err(refused)?;
    Ok((writes([(survivor.0, &mut s, sh), (duplicate.0, &mut d, dh)])?, c))
}

/// Field values by path, as a record's JSON shows them.
pub type FieldValues = Vec<(String, serde_json::Value)>;

/// Which of two disagreeing values a reviewer keeps in a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Keep {
    Survivor,
    Duplicate,
}

/// [`plan_merge`], then settle every field the two records disagree on with
/// the value the reviewer chose (`keep`; the survivor's where not named),
/// in the same registry change, so no conflict is left on them. Returns
/// the writes, what the merge changed, and the values set.
pub fn plan_merge_settled(
    survivor: (&str, &[u8]),
    duplicate: (&str, &[u8]),
    keep: &[(String, Keep)],
    by: &str,
    now: i64,
) -> Result<(Vec<Write>, Combination, FieldValues), StoreError> {
    let corrupt = |e: ehcard_core::DocError| refused(e.into());
    let mut s = RecordDoc::load(survivor.1, &merge_actor()).map_err(corrupt)?;
    let mut d = RecordDoc::load(duplicate.1, &merge_actor()).map_err(corrupt)?;
    let (sh, dh) = (s.heads(), d.heads());
    let c = combine(&mut s, &mut d, &edit_context(now, by)).map_err(refused)?;
    let values: Vec<(String, serde_json::Value)> = c
        .conflicting
        .iter()
        .map(|(path, mine, theirs)| {
            let side = keep.iter().find(|(p, _)| p == path).map(|(_, k)| *k).unwrap_or(Keep::Survivor);
            (path.clone(), if side == Keep::Duplicate { theirs.clone() } else { mine.clone() })
        })
        .collect();
    if !values.is_empty() {
        crate::store::apply_field_values(&mut s, &values, by, now)?;
    }
    Ok((writes([(survivor.0, &mut s, sh), (duplicate.0, &mut d, dh)])?, c, values))
}

/// What merging `duplicate` into `survivor` would do, without doing it
/// (the fields the reviewer chooses between).
pub fn preview_merge(survivor: &[u8], duplicate: &[u8], now: i64) -> Result<Combination, StoreError> {
    let corrupt = |e: ehcard_core::DocError| refused(e.into());
    let mut s = RecordDoc::load(survivor, &merge_actor()).map_err(corrupt)?;
    let mut d = RecordDoc::load(duplicate, &merge_actor()).map_err(corrupt)?;
    combine(&mut s, &mut d, &edit_context(now, "preview")).map_err(refused)
}

/// Undo a recorded merge on the stored documents. Returns the writes and
/// the fields left alone because they changed after the merge.
pub fn plan_undo(
    survivor: (&str, &[u8]),
    duplicate: (&str, &[u8]),
    c: &Combination,
    by: &str,
    now: i64,
) -> Result<(Vec<Write>, Vec<String>), StoreError> {
    let corrupt = |e: ehcard_core::DocError| refused(e.into());
    let mut s = RecordDoc::load(survivor.1, &merge_actor()).map_err(corrupt)?;
    let mut d = RecordDoc::load(duplicate.1, &merge_actor()).map_err(corrupt)?;
    let (sh, dh) = (s.heads(), d.heads());
    let ctx = edit_context(now, by);
    let left = uncombine(&mut s, &mut d, c, ctx.today(), &ctx).map_err(refused)?;
    Ok((writes([(survivor.0, &mut s, sh), (duplicate.0, &mut d, dh)])?, left))
}

/// The error for an undo of a record that was not merged.
pub fn not_merged(id: &str) -> StoreError {
    StoreError::Refused(format!("record {id} was not merged into another record (or its merge was already undone)"))
}

/// The audit line for a decision on a pair.
pub fn decision_audit(action: &str, a: &str, b: &str, by: &str, now: i64) -> NewAudit {
    let (a, b) = ordered(a, b);
    NewAudit {
        at: now,
        actor: by.to_string(),
        action: action.to_string(),
        subject: a.clone(),
        detail: serde_json::json!({"a": a, "b": b}),
    }
}

/// The audit line for a merge or its undo.
pub fn merge_audit(action: &str, m: &MergeRow, by: &str, now: i64, left: &[String]) -> NewAudit {
    let c = &m.combination;
    NewAudit {
        at: now,
        actor: by.to_string(),
        action: action.to_string(),
        subject: m.duplicate.clone(),
        detail: serde_json::json!({
            "merge": m.id,
            "survivor": m.survivor,
            "duplicate": m.duplicate,
            "taken": c.taken.iter().map(|(f, _)| f).collect::<Vec<_>>(),
            "conflicting": c.conflicting.iter().map(|(f, _, _)| f).collect::<Vec<_>>(),
            "left_as_changed": left,
        }),
    }
}
