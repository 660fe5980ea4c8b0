//! Combining two records of one person: what the registry does when a
//! reviewer merges a duplicate into a survivor, and how it is undone.
//!
//! Both documents keep their whole history. The survivor takes every field
//! it lacks from the duplicate and the union of set fields; where both have
//! a different value, the survivor keeps *both* as a field conflict (the
//! same thing concurrent edits produce), so nothing is silently chosen and
//! a reviewer settles it like any other conflict. The duplicate is marked
//! `merged_into` the survivor, so its eHealth ID resolves to the survivor.
//! The survivor's household and relation stay its own.

use automerge::ActorId;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::doc::{DocError, Edit, RecordDoc};
use crate::env::EditContext;
use crate::model::{self, FieldValue, Kind, RecordKind};

/// Fields that describe where the survivor lives in its own household.
const KEPT: &[&str] = &["household_id", "relation_to_head", "merged_into", "status"];

/// What a merge changed, kept by the registry so it can be undone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Combination {
    /// Fields the survivor lacked, with the value it took.
    pub taken: Vec<(String, Value)>,
    /// Fields where the two differed: (field, survivor's value, duplicate's).
    pub conflicting: Vec<(String, Value, Value)>,
    /// Items added to the survivor's set fields.
    pub added: Vec<(String, String)>,
    /// The survivor's status before the merge, when the merge changed it.
    pub status_before: Option<Option<String>>,
}

/// Why two records cannot be combined.
#[derive(Debug, thiserror::Error)]
pub enum CombineError {
    #[error("only residents can be merged")]
    NotResident,
    #[error("a record cannot be merged into itself")]
    Same,
    #[error("record {0} was already merged into {1}")]
    AlreadyMerged(String, String),
    #[error(transparent)]
    Doc(#[from] DocError),
}

/// The actors under which the two sides of a disagreement are written: the
/// survivor's value under the greater one, so it reads as current.
fn sides() -> (ActorId, ActorId) {
    (ActorId::from(b"ehcard-merge-2-survivor".as_slice()), ActorId::from(b"ehcard-merge-1-duplicate".as_slice()))
}

fn status_rank(s: Option<&str>) -> u8 {
    match s {
        None | Some("verified") => 2,
        Some("unverified") => 0,
        _ => 1,
    }
}

/// Merge `duplicate` into `survivor` (both loaded with the registry's
/// actor). Returns what changed; both documents have new changes.
pub fn combine(
    survivor: &mut RecordDoc,
    duplicate: &mut RecordDoc,
    ctx: &EditContext,
) -> Result<Combination, CombineError> {
    let s = survivor.read()?;
    let d = duplicate.read()?;
    if s.meta.kind != RecordKind::Resident || d.meta.kind != RecordKind::Resident {
        return Err(CombineError::NotResident);
    }
    if s.meta.id == d.meta.id {
        return Err(CombineError::Same);
    }
    for r in [&s, &d] {
        if let Some(into) = r.fields.text("merged_into") {
            return Err(CombineError::AlreadyMerged(r.meta.id.to_string(), into.to_string()));
        }
    }
    let mut out = Combination::default();
    let mut edits = Vec::new();
    let mut disagree = Vec::new();
    for spec in model::RESIDENT_FIELDS.iter().filter(|f| !KEPT.contains(&f.path)) {
        let Some(theirs) = d.fields.get(spec.path) else { continue };
        match (s.fields.get(spec.path), theirs, spec.kind) {
            (None, v, _) => {
                out.taken.push((spec.path.to_string(), v.to_json()));
                edits.push(Edit::Set(spec.path, v.clone()));
            }
            (Some(FieldValue::Set(mine)), FieldValue::Set(items), Kind::Set { .. }) => {
                for (k, item) in items {
                    if !mine.contains_key(k) {
                        out.added.push((spec.path.to_string(), item.clone()));
                        edits.push(Edit::Add(spec.path, item.clone()));
                    }
                }
            }
            (Some(mine), v, _) if mine != v => {
                out.conflicting.push((spec.path.to_string(), mine.to_json(), v.to_json()));
                disagree.push((spec.path, mine.clone(), v.clone()));
            }
            _ => {}
        }
    }
    // A person confirmed anywhere is confirmed.
    let (mine, theirs) = (s.fields.text("status"), d.fields.text("status"));
    if status_rank(theirs) > status_rank(mine) {
        out.status_before = Some(mine.map(str::to_string));
        match theirs {
            Some(t) => edits.push(Edit::Set("status", FieldValue::Text(t.to_string()))),
            None => edits.push(Edit::Clear("status")),
        }
    }
    survivor.apply(&edits, ctx)?;
    let (keep, other) = sides();
    for (path, mine, theirs) in disagree {
        survivor.put_alternatives(path, &[(keep.clone(), mine), (other.clone(), theirs)], ctx)?;
    }
    duplicate.apply(&[Edit::Set("merged_into", FieldValue::Text(s.meta.id.to_string()))], ctx)?;
    Ok(out)
}

/// Undo a merge recorded as `c`: the duplicate stands alone again, and the
/// survivor drops what it took, where nobody has changed it since.
/// Returns the fields left as they are because they changed after the merge.
pub fn uncombine(
    survivor: &mut RecordDoc,
    duplicate: &mut RecordDoc,
    c: &Combination,
    today: NaiveDate,
    ctx: &EditContext,
) -> Result<Vec<String>, CombineError> {
    let s = survivor.read()?;
    let mut edits = Vec::new();
    let mut left = Vec::new();
    let current = |path: &str| s.fields.get(path).map(FieldValue::to_json);
    let conflicted = |path: &str| s.conflicts.iter().any(|x| x.field == path);
    for (path, value) in &c.taken {
        let Some(spec) = model::spec(RecordKind::Resident, path) else { continue };
        if current(path).as_ref() == Some(value) && !conflicted(path) {
            edits.push(Edit::Clear(spec.path));
        } else {
            left.push(path.clone());
        }
    }
    for (path, item) in &c.added {
        if let Some(spec) = model::spec(RecordKind::Resident, path) {
            edits.push(Edit::Remove(spec.path, item.clone()));
        }
    }
    for (path, mine, _) in &c.conflicting {
        let Some(spec) = model::spec(RecordKind::Resident, path) else { continue };
        // Still the conflict the merge made: settle it on the survivor's value.
        if conflicted(path) {
            match model::parse_json_value(spec, mine, today) {
                Ok(v) => edits.push(Edit::Set(spec.path, v)),
                Err(_) => left.push(path.clone()),
            }
        } else if current(path).as_ref() != Some(mine) {
            left.push(path.clone());
        }
    }
    if let Some(before) = &c.status_before {
        match before {
            Some(b) => edits.push(Edit::Set("status", FieldValue::Text(b.clone()))),
            None => edits.push(Edit::Clear("status")),
        }
    }
    survivor.apply(&edits, ctx)?;
    duplicate.apply(&[Edit::Clear("merged_into")], ctx)?;
    Ok(left)
}
