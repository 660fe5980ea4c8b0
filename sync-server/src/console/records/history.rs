//! A record's history and the authors of its conflicting values, read from
//! its Automerge document and its change feed.
//!
//! Each feed entry stores the document's heads after it, so what an entry
//! changed is the record read at its heads against the record read at the
//! previous entry's heads, and the changes it brought are those between
//! the two. Who made a change is in its message (`edit by NAME`); which
//! tablet, in the feed entry that first brought the change's actor.

use std::collections::{HashMap, HashSet};

use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use ehcard_core::model::{Conflict, Record};
use ehcard_core::{RecordDoc, RecordKind};
use serde_json::Value as Json;

use crate::store::console_records::FeedRow;

/// Where a change came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A tablet (its device id).
    Tablet(String),
    /// The electoral-roll import.
    Roll,
    /// A merge of duplicates (or its undo).
    Merge,
    /// A value set in the console (a settled conflict).
    Console,
    /// The registry, otherwise.
    Registry,
}

/// A field's value as shown: one value, or the values in conflict.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    One(Json),
    Conflict(Vec<Json>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<Shown>,
    pub after: Option<Shown>,
}

/// One feed entry of a record, explained.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: i64,
    pub at: i64,
    pub source: Source,
    /// Workers or staff named in the entry's changes.
    pub workers: Vec<String>,
    /// The record was made by this entry.
    pub created: bool,
    pub changes: Vec<FieldChange>,
}

/// Who wrote one of the values of a field in conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Author {
    pub source: Source,
    pub worker: Option<String>,
    /// When the change was made (seconds), as its author's clock said.
    pub at: Option<i64>,
}

/// A field in conflict: every value with its authors.
#[derive(Debug, Clone)]
pub struct ConflictView {
    pub field: String,
    pub values: Vec<(Json, Vec<Author>)>,
}

fn actor(name: &[u8]) -> ActorId {
    ActorId::from(name)
}

/// The source of changes written by one of the registry's own actors.
fn registry_source(a: &ActorId) -> Source {
    if *a == crate::roll::roll_actor() {
        Source::Roll
    } else if *a == crate::dedup::merge_actor() || a.to_bytes().starts_with(b"ehcard-merge") {
        Source::Merge
    } else if *a == crate::store::registry_edit_actor() || *a == actor(b"ehcard-registry!") {
        Source::Console
    } else {
        Source::Registry
    }
}

/// The person named in a change's message (`edit by NAME`).
fn worker_of(message: Option<&str>) -> Option<String> {
    message.and_then(|m| m.split_once(" by ")).map(|(_, w)| w.trim().to_string()).filter(|w| !w.is_empty())
}

fn record_at(doc: &mut AutoCommit, heads: &[ChangeHash]) -> Option<Record> {
    if heads.is_empty() {
        return None;
    }
    let mut fork = doc.fork_at(heads).ok()?;
    RecordDoc::load(&fork.save(), &crate::store::server_actor()).ok()?.read().ok()
}

fn shown(r: &Record, path: &str) -> Option<Shown> {
    if let Some(c) = r.conflicts.iter().find(|c| c.field == path) {
        return Some(Shown::Conflict(c.values.clone()));
    }
    r.fields.get(path).map(|v| Shown::One(v.to_json()))
}

fn differences(kind: RecordKind, before: Option<&Record>, after: &Record) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let hid = |r: &Record| r.meta.health_id.map(|h| Shown::One(Json::String(h.to_string())));
    let (b, a) = (before.and_then(hid), hid(after));
    if b != a {
        out.push(FieldChange { path: "health_id".into(), before: b, after: a });
    }
    for spec in kind.fields() {
        let b = before.and_then(|r| shown(r, spec.path));
        let a = shown(after, spec.path);
        if b != a {
            out.push(FieldChange { path: spec.path.to_string(), before: b, after: a });
        }
    }
    out
}

fn parse_heads(hex: &[String]) -> Option<Vec<ChangeHash>> {
    hex.iter().map(|h| h.parse::<ChangeHash>().ok()).collect()
}

/// The explained history of a record (oldest first) and which tablet each
/// actor wrote from. When `truncated`, `feed[0]` is only the baseline.
pub fn history(
    doc: &[u8],
    feed: &[FeedRow],
    truncated: bool,
) -> Result<(Vec<Entry>, HashMap<ActorId, Source>), String> {
    let mut am = AutoCommit::load(doc).map_err(|e| e.to_string())?;
    let changes = am.get_changes(&[]);
    let by_hash: HashMap<ChangeHash, &automerge::Change> = changes.iter().map(|c| (c.hash(), c)).collect();
    let mut seen: HashSet<ChangeHash> = HashSet::new();
    let add_ancestors = |heads: &[ChangeHash], seen: &mut HashSet<ChangeHash>| -> Vec<ChangeHash> {
        let mut new = Vec::new();
        let mut stack: Vec<ChangeHash> = heads.to_vec();
        while let Some(h) = stack.pop() {
            if !seen.insert(h) {
                continue;
            }
            if let Some(c) = by_hash.get(&h) {
                new.push(h);
                stack.extend(c.deps().iter().copied());
            }
        }
        new
    };
    let mut actors: HashMap<ActorId, Source> = HashMap::new();
    let mut entries = Vec::new();
    let mut rows = feed.iter();
    let mut before: Option<Record> = None;
    if truncated && let Some(base) = rows.next() {
        let heads = parse_heads(&base.heads).unwrap_or_default();
        add_ancestors(&heads, &mut seen);
        before = record_at(&mut am, &heads);
    }
    for row in rows {
        let Some(heads) = parse_heads(&row.heads) else { continue };
        if heads.iter().any(|h| !by_hash.contains_key(h)) {
            continue;
        }
        let new = add_ancestors(&heads, &mut seen);
        let mut workers: Vec<String> = Vec::new();
        let mut registry: Option<Source> = None;
        for h in &new {
            let Some(c) = by_hash.get(h) else { continue };
            if let Some(w) = worker_of(c.message())
                && !workers.contains(&w)
            {
                workers.push(w);
            }
            if row.device_id == crate::dedup::FEED_DEVICE {
                let s = registry_source(c.actor_id());
                actors.entry(c.actor_id().clone()).or_insert_with(|| s.clone());
                registry = match (registry, s) {
                    (None, s) | (Some(Source::Registry), s) => Some(s),
                    (Some(r), _) => Some(r),
                };
            } else {
                actors.entry(c.actor_id().clone()).or_insert_with(|| Source::Tablet(row.device_id.clone()));
            }
        }
        let source = if row.device_id == crate::dedup::FEED_DEVICE {
            registry.unwrap_or(Source::Registry)
        } else {
            Source::Tablet(row.device_id.clone())
        };
        let Some(after) = record_at(&mut am, &heads) else { continue };
        let created = before.is_none();
        let changes = if created { Vec::new() } else { differences(after.meta.kind, before.as_ref(), &after) };
        entries.push(Entry { seq: row.seq, at: row.received_at, source, workers, created, changes });
        before = Some(after);
    }
    // Actors whose changes came before the entries read (or in none).
    for c in &changes {
        actors.entry(c.actor_id().clone()).or_insert_with(|| registry_source(c.actor_id()));
    }
    Ok((entries, actors))
}

fn json_of(v: &Value<'_>) -> Option<Json> {
    match v {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => Some(Json::String(t.to_string())),
            ScalarValue::Int(i) => Some(Json::from(*i)),
            ScalarValue::Uint(u) => Some(Json::from(*u)),
            ScalarValue::Boolean(b) => Some(Json::Bool(*b)),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

/// Every value of each field in conflict, with who wrote it.
pub fn conflicts(doc: &[u8], conflicts: &[Conflict], actors: &HashMap<ActorId, Source>) -> Vec<ConflictView> {
    let Ok(am) = AutoCommit::load(doc) else { return Vec::new() };
    let mut out = Vec::new();
    for c in conflicts {
        let (obj, key) = match c.field.split_once('.') {
            None => (ROOT, c.field.as_str()),
            Some((head, rest)) => match am.get(ROOT, head) {
                Ok(Some((Value::Object(ObjType::Map), id))) => (id, rest),
                _ => continue,
            },
        };
        let Ok(all) = am.get_all(&obj, key) else { continue };
        let found: Vec<(Json, automerge::ObjId)> =
            all.into_iter().filter_map(|(v, id)| json_of(&v).map(|j| (j, id))).collect();
        let mut values: Vec<(Json, Vec<Author>)> = c.values.iter().map(|v| (v.clone(), Vec::new())).collect();
        for (j, id) in found {
            let a = match &id {
                automerge::ObjId::Id(_, a, _) => Some(a.clone()),
                automerge::ObjId::Root => None,
            };
            let change = am.hash_for_opid(&id).and_then(|h| am.get_change_by_hash(&h));
            let author = Author {
                source: a
                    .as_ref()
                    .map(|a| actors.get(a).cloned().unwrap_or_else(|| registry_source(a)))
                    .unwrap_or(Source::Registry),
                worker: change.as_ref().and_then(|c| worker_of(c.message())),
                at: change.as_ref().map(|c| c.timestamp()).filter(|t| *t > 0),
            };
            // Numbers compare by value (an Int and a Uint of one number).
            match values.iter_mut().find(|(v, _)| v == &j || v.as_f64().is_some_and(|x| j.as_f64() == Some(x))) {
                Some((_, authors)) => authors.push(author),
                None => values.push((j, vec![author])),
            }
        }
        out.push(ConflictView { field: c.field.clone(), values });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_read_from_change_messages() {
        assert_eq!(worker_of(Some("edit by surveyor")).as_deref(), Some("surveyor"));
        assert_eq!(worker_of(Some("merge by ravi.k")).as_deref(), Some("ravi.k"));
        assert_eq!(worker_of(Some("edit")), None);
        assert_eq!(worker_of(None), None);
    }
}
