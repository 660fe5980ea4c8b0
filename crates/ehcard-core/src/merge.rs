//! Merging changes that arrive from another replica into a record's
//! document: the one operation the sync server and a pulling tablet share.

use automerge::{ActorId, ChangeHash};

use crate::doc::{DocError, RecordDoc};
use crate::model::Record;

/// What merging incoming changes did.
#[derive(Debug)]
pub enum MergeOutcome {
    /// Every incoming change was already there.
    Unchanged { heads: Vec<ChangeHash> },
    /// New changes were taken in.
    Merged(Box<Merged>),
    /// Some incoming changes depend on changes this replica has never seen
    /// (the sender assumed too much); nothing was taken in. Send the whole
    /// document instead.
    MissingDeps,
    /// The merged record holds values no valid edit could have made (a
    /// damaged or tampered sender); nothing was taken in.
    Invalid(Vec<crate::validate::FieldError>),
}

#[derive(Debug)]
pub struct Merged {
    /// The whole document after the merge.
    pub doc: Vec<u8>,
    /// Only the changes that were new here (for the change feed).
    pub new_changes: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    pub record: Record,
    /// Whether this made the document (it did not exist here before).
    pub created: bool,
}

/// Take `incoming` (a saved document or saved changes) into `existing`.
pub fn merge_incoming(
    existing: Option<&[u8]>,
    incoming: &[u8],
    actor: &ActorId,
    today: chrono::NaiveDate,
) -> Result<MergeOutcome, DocError> {
    let Some(existing) = existing else { return merge_new(incoming, actor, today) };
    let created = false;
    let mut doc = RecordDoc::load(existing, actor)?;
    let before = doc.heads();
    doc.load_incremental(incoming)?;
    if doc.has_pending_changes() {
        return Ok(MergeOutcome::MissingDeps);
    }
    let heads = doc.heads();
    if heads == before {
        return Ok(MergeOutcome::Unchanged { heads });
    }
    // A new document must read as a record; an existing one already did.
    let record = doc.read()?;
    let errors = crate::model::check_fields(&record, today);
    if !errors.is_empty() {
        return Ok(MergeOutcome::Invalid(errors));
    }
    let new_changes = doc.save_after(&before);
    Ok(MergeOutcome::Merged(Box::new(Merged { doc: doc.save(), new_changes, heads, record, created })))
}

/// A record this replica has never seen: the incoming bytes, once they load
/// and read as a valid record, are both the document and its new changes.
fn merge_new(incoming: &[u8], actor: &ActorId, today: chrono::NaiveDate) -> Result<MergeOutcome, DocError> {
    let mut doc = match RecordDoc::load(incoming, actor) {
        Ok(doc) => doc,
        Err(e) => {
            // Changes that build on ones never seen here do not load on
            // their own: ask for the whole document rather than call it damaged.
            let mut probe = RecordDoc::empty(actor);
            if probe.load_incremental(incoming).is_ok() && probe.has_pending_changes() {
                return Ok(MergeOutcome::MissingDeps);
            }
            return Err(e);
        }
    };
    if doc.has_pending_changes() {
        return Ok(MergeOutcome::MissingDeps);
    }
    let record = doc.read()?;
    let errors = crate::model::check_fields(&record, today);
    if !errors.is_empty() {
        return Ok(MergeOutcome::Invalid(errors));
    }
    Ok(MergeOutcome::Merged(Box::new(Merged {
        doc: incoming.to_vec(),
        new_changes: incoming.to_vec(),
        heads: doc.heads(),
        record,
        created: true,
    })))
}

/// Heads as one blob of 32-byte hashes.
pub fn heads_to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// The inverse of [`heads_to_bytes`]; `None` for a damaged blob.
pub fn heads_from_bytes(bytes: &[u8]) -> Option<Vec<ChangeHash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    bytes.chunks(32).map(|c| ChangeHash::try_from(c).ok()).collect()
}

/// Heads as hex strings (for the wire).
pub fn heads_to_hex(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(|h| h.to_string()).collect()
}

pub fn heads_from_hex(hex: &[String]) -> Option<Vec<ChangeHash>> {
    hex.iter().map(|h| h.parse::<ChangeHash>().ok()).collect()
}
