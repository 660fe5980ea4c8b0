//! Each resident and household is its own Automerge document. The document
//! is the truth; everything else (SQL projections, JSON output) is read from
//! it.
//!
//! Layout of a document's root map:
//! - metadata: `kind`, `id`, `health_id` (12 digits), `enrolled_by`,
//!   `enrolled_device`, `enrolled_at` and `updated_at` (timestamps, ms);
//! - every scalar field of [`crate::model`] under its path (`address.ward`
//!   lives in the `address` map);
//! - set fields (`allergies`, …) as maps from the folded item to the item,
//!   so concurrent additions are all kept and a removal removes one item.
//!
//! Nested maps are created once, when the document is made, so two devices
//! never create competing copies of them. Concurrent puts to one scalar key
//! keep every value: [`RecordDoc::read`] reports them in `conflicts`, and the
//! next put by anyone who has seen them resolves the conflict. `updated_at`
//! is a last-writer-wins register read as the latest of its values.

use std::collections::BTreeMap;

use automerge::hydrate;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use chrono::{DateTime, Utc};

use crate::env::EditContext;
use crate::ids::{HealthId, RecordId};
use crate::model::{self, Conflict, FieldValue, Fields, Kind, Meta, Record, RecordKind};

/// Why a document could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("document is damaged or not an ehcard record: {0}")]
    Corrupt(String),
    #[error("document engine: {0}")]
    Automerge(#[from] automerge::AutomergeError),
}

/// One change to a record's fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Put a value (for a set field: make the set exactly these items).
    Set(&'static str, FieldValue),
    /// Remove a value.
    Clear(&'static str),
    /// Add one item to a set field.
    Add(&'static str, String),
    /// Remove one item (by its folded form) from a set field.
    Remove(&'static str, String),
}

/// Facts fixed when a record is made.
#[derive(Clone, Debug)]
pub struct Origin {
    pub id: RecordId,
    pub health_id: Option<HealthId>,
    pub enrolled_by: String,
    pub enrolled_device: Option<String>,
    pub enrolled_at: DateTime<Utc>,
}

/// A record's CRDT document.
#[derive(Debug, Clone)]
pub struct RecordDoc {
    doc: AutoCommit,
}

fn scalar(v: &FieldValue) -> ScalarValue {
    match v {
        FieldValue::Text(s) => ScalarValue::Str(s.as_str().into()),
        FieldValue::Int(i) => ScalarValue::Int(*i),
        FieldValue::Bool(b) => ScalarValue::Boolean(*b),
        FieldValue::Set(_) => ScalarValue::Null,
    }
}

impl RecordDoc {
    /// Make a new record's document in one change.
    pub fn create(
        kind: RecordKind,
        origin: &Origin,
        fields: &Fields,
        actor: &ActorId,
        ctx: &EditContext,
    ) -> Result<Self, DocError> {
        let mut doc = AutoCommit::new().with_actor(actor.clone());
        doc.init_root_from_hydrate(&Self::initial_root(kind, origin, fields, ctx).to_hydrate())?;
        doc.commit_with(commit_options(ctx, "enroll"));
        Ok(RecordDoc { doc })
    }

    /// The change [`RecordDoc::create`] makes, encoded without building a
    /// document: the same operations in the same order, so the same bytes
    /// and the same hash. Its bytes are an Automerge change chunk, which
    /// [`RecordDoc::load`] and `load_incremental` read like a saved
    /// document. For bulk imports, where making the document and saving it
    /// cost several times more than encoding the change.
    pub fn create_change(
        kind: RecordKind,
        origin: &Origin,
        fields: &Fields,
        actor: &ActorId,
        ctx: &EditContext,
    ) -> (Vec<u8>, ChangeHash) {
        let root = Self::initial_root(kind, origin, fields, ctx);
        automerge_change(&initial_op_list(&root), actor, ctx)
    }

    /// The root map a new record's document starts as.
    fn initial_root(kind: RecordKind, origin: &Origin, fields: &Fields, ctx: &EditContext) -> InitialMap<'static> {
        let mut root = InitialMap::default();
        let mut nested: Vec<(&'static str, InitialMap<'static>)> =
            model::nested_objects(kind).map(|n| (n, InitialMap::default())).collect();
        root.put("kind", kind.as_str().into());
        root.put("id", ScalarValue::Str(origin.id.to_string().into()));
        if let Some(h) = &origin.health_id {
            root.put("health_id", ScalarValue::Str(h.compact().into()));
        }
        root.put("enrolled_by", origin.enrolled_by.as_str().into());
        if let Some(d) = &origin.enrolled_device {
            root.put("enrolled_device", d.as_str().into());
        }
        root.put("enrolled_at", ScalarValue::Timestamp(origin.enrolled_at.timestamp_millis()));
        root.put("updated_at", ScalarValue::Timestamp(ctx.now.timestamp_millis()));
        for spec in kind.fields() {
            let value = match (fields.get(spec.path), spec.kind) {
                (Some(FieldValue::Set(items)), _) => InitialValue::Map(set_map(items)),
                (None, Kind::Set { .. }) => InitialValue::Map(InitialMap::default()),
                (Some(v), _) => InitialValue::Scalar(scalar(v)),
                (None, _) => continue,
            };
            match spec.path.split_once('.') {
                Some((head, rest)) => {
                    if let Some((_, m)) = nested.iter_mut().find(|(n, _)| *n == head) {
                        m.entries.push((rest.into(), value));
                    }
                }
                None => root.entries.push((spec.path.into(), value)),
            }
        }
        for (name, m) in nested {
            root.entries.push((name.into(), InitialValue::Map(m)));
        }
        root.sort();
        root
    }

    /// The record a document made by [`RecordDoc::create`] reads as, without
    /// reading it back (used by bulk imports).
    pub fn created_record(kind: RecordKind, origin: &Origin, mut fields: Fields, ctx: &EditContext) -> Record {
        fields.0.retain(|_, v| !matches!(v, FieldValue::Set(items) if items.is_empty()));
        let at = |t: DateTime<Utc>| millis(t.timestamp_millis());
        Record {
            meta: Meta {
                id: origin.id,
                kind,
                health_id: origin.health_id,
                enrolled_by: origin.enrolled_by.clone(),
                enrolled_device: origin.enrolled_device.clone(),
                enrolled_at: at(origin.enrolled_at),
                updated_at: at(ctx.now),
            },
            fields,
            conflicts: Vec::new(),
        }
    }

    /// Load a saved document and make `actor` the author of later changes.
    pub fn load(bytes: &[u8], actor: &ActorId) -> Result<Self, DocError> {
        let mut doc = AutoCommit::load(bytes).map_err(|e| DocError::Corrupt(e.to_string()))?;
        doc.set_actor(actor.clone());
        Ok(RecordDoc { doc })
    }

    /// An empty document to take in changes from elsewhere.
    pub fn empty(actor: &ActorId) -> Self {
        RecordDoc { doc: AutoCommit::new().with_actor(actor.clone()) }
    }

    /// Whether received changes wait for changes this replica lacks.
    pub fn has_pending_changes(&mut self) -> bool {
        !self.doc.get_missing_deps(&[]).is_empty()
    }

    /// Whether every change in `heads` is here.
    pub fn contains(&mut self, heads: &[ChangeHash]) -> bool {
        heads.iter().all(|h| self.doc.get_change_by_hash(h).is_some())
    }

    /// The whole document, compacted.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes with these hashes, as change chunks in that order; `None`
    /// if the document lacks one of them.
    pub fn changes_by_hash(&mut self, hashes: &[ChangeHash]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for h in hashes {
            out.extend_from_slice(self.doc.get_change_by_hash(h)?.raw_bytes());
        }
        Some(out)
    }

    /// Changes made since `heads`.
    pub fn save_after(&mut self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// Apply changes saved by another replica (`save` or `save_after`).
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<usize, DocError> {
        self.doc.load_incremental(bytes).map_err(|e| DocError::Corrupt(e.to_string()))
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// A copy that writes as `actor`.
    pub fn fork(&mut self, actor: &ActorId) -> Self {
        let mut doc = self.doc.fork();
        doc.set_actor(actor.clone());
        RecordDoc { doc }
    }

    /// Take in every change of `other`.
    pub fn merge(&mut self, other: &mut RecordDoc) -> Result<(), DocError> {
        self.doc.merge(&mut other.doc)?;
        Ok(())
    }

    fn obj_for(&self, path: &'static str) -> Result<(ObjId, &'static str), DocError> {
        match path.split_once('.') {
            None => Ok((ROOT, path)),
            Some((head, rest)) => match self.doc.get(ROOT, head)? {
                Some((Value::Object(ObjType::Map), id)) => Ok((id, rest)),
                _ => Err(DocError::Corrupt(format!("missing map {head}"))),
            },
        }
    }

    /// Apply edits as one change. Returns whether anything changed.
    pub fn apply(&mut self, edits: &[Edit], ctx: &EditContext) -> Result<bool, DocError> {
        let mut changed = false;
        for edit in edits {
            match edit {
                Edit::Set(path, FieldValue::Set(items)) => {
                    let (obj, key) = self.obj_for(path)?;
                    let set = self.set_obj(&obj, key)?;
                    let existing: Vec<String> = self.doc.keys(&set).collect();
                    for k in existing.iter().filter(|k| !items.contains_key(*k)) {
                        self.doc.delete(&set, k.as_str())?;
                        changed = true;
                    }
                    for (k, v) in items {
                        if !existing.contains(k) {
                            self.doc.put(&set, k.as_str(), v.as_str())?;
                            changed = true;
                        }
                    }
                }
                Edit::Set(path, value) => {
                    let (obj, key) = self.obj_for(path)?;
                    let current = self.doc.get_all(&obj, key)?;
                    let same = current.len() == 1 && scalar_eq(&current[0].0, &scalar(value));
                    if !same {
                        self.doc.put(&obj, key, scalar(value))?;
                        changed = true;
                    }
                }
                Edit::Clear(path) => {
                    let (obj, key) = self.obj_for(path)?;
                    if self.doc.get(&obj, key)?.is_some() {
                        if matches!(model::spec_kind(path), Some(Kind::Set { .. })) {
                            let set = self.set_obj(&obj, key)?;
                            let existing: Vec<String> = self.doc.keys(&set).collect();
                            for k in existing {
                                self.doc.delete(&set, k.as_str())?;
                                changed = true;
                            }
                        } else {
                            self.doc.delete(&obj, key)?;
                            changed = true;
                        }
                    }
                }
                Edit::Add(path, item) => {
                    let (obj, key) = self.obj_for(path)?;
                    let set = self.set_obj(&obj, key)?;
                    let k = model::set_key(item);
                    if self.doc.get(&set, k.as_str())?.is_none() {
                        self.doc.put(&set, k.as_str(), model::squash(item))?;
                        changed = true;
                    }
                }
                Edit::Remove(path, item) => {
                    let (obj, key) = self.obj_for(path)?;
                    let set = self.set_obj(&obj, key)?;
                    let k = model::set_key(item);
                    if self.doc.get(&set, k.as_str())?.is_some() {
                        self.doc.delete(&set, k.as_str())?;
                        changed = true;
                    }
                }
            }
        }
        if changed {
            self.doc.put(ROOT, "updated_at", ScalarValue::Timestamp(ctx.now.timestamp_millis()))?;
            self.doc.commit_with(commit_options(ctx, "edit"));
        }
        Ok(changed)
    }

    /// Set the eHealth ID (a record made before its device was provisioned,
    /// or a record imported from the roll when it is confirmed).
    pub fn set_health_id(&mut self, id: HealthId, ctx: &EditContext) -> Result<(), DocError> {
        self.doc.put(ROOT, "health_id", id.compact())?;
        self.doc.put(ROOT, "updated_at", ScalarValue::Timestamp(ctx.now.timestamp_millis()))?;
        self.doc.commit_with(commit_options(ctx, "health_id"));
        Ok(())
    }

    /// Put several values of one scalar field side by side, exactly as
    /// concurrent edits by `actors[i]` would: the field reads as a conflict
    /// until someone picks a value. The value of the greatest actor reads
    /// as the current one.
    pub fn put_alternatives(
        &mut self,
        path: &'static str,
        values: &[(ActorId, FieldValue)],
        ctx: &EditContext,
    ) -> Result<(), DocError> {
        let (obj, key) = self.obj_for(path)?;
        let mut forks = Vec::with_capacity(values.len());
        for (actor, value) in values {
            let mut fork = self.doc.fork();
            fork.set_actor(actor.clone());
            // A put of the value already there would be dropped as a
            // no-op; every side must be a new operation to stand as one
            // of the concurrent values.
            fork.put(&obj, key, ScalarValue::Null)?;
            fork.put(&obj, key, scalar(value))?;
            fork.put(ROOT, "updated_at", ScalarValue::Timestamp(ctx.now.timestamp_millis()))?;
            fork.commit_with(commit_options(ctx, "merge"));
            forks.push(fork);
        }
        for mut fork in forks {
            self.doc.merge(&mut fork)?;
        }
        Ok(())
    }

    fn set_obj(&self, obj: &ObjId, key: &str) -> Result<ObjId, DocError> {
        match self.doc.get(obj, key)? {
            Some((Value::Object(ObjType::Map), id)) => Ok(id),
            _ => Err(DocError::Corrupt(format!("missing set {key}"))),
        }
    }

    /// The record as it stands, with every conflicting value. One pass over
    /// each map; only keys flagged as conflicting are read again in full.
    pub fn read(&self) -> Result<Record, DocError> {
        let kind = match self.doc.get(ROOT, "kind")? {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(k) => RecordKind::parse(k),
                _ => None,
            },
            _ => None,
        }
        .ok_or_else(|| DocError::Corrupt("no kind".into()))?;
        let mut fields = Fields::default();
        let mut conflicts = Vec::new();
        let mut id = None;
        let mut health_id = None;
        let mut enrolled_by = String::new();
        let mut enrolled_device = None;
        let mut enrolled_at = None;
        let mut updated_at = None;
        let mut nested: Vec<(String, ObjId)> = Vec::new();
        for item in self.doc.map_range(ROOT, ..) {
            let key = item.key.as_ref();
            match (key, &item.value) {
                ("id", v) => id = ref_text(v).and_then(|s| s.parse::<RecordId>().ok()),
                ("health_id", v) => health_id = ref_text(v).and_then(|s| s.parse::<HealthId>().ok()),
                ("enrolled_by", v) => enrolled_by = ref_text(v).unwrap_or_default(),
                ("enrolled_device", v) => enrolled_device = ref_text(v),
                ("enrolled_at", _) => enrolled_at = self.timestamps(&ROOT, key)?.into_iter().min(),
                ("updated_at", _) => updated_at = self.timestamps(&ROOT, key)?.into_iter().max(),
                ("kind", _) => {}
                (_, automerge::ValueRef::Object(ObjType::Map)) => nested.push((key.to_string(), item.id())),
                (_, v) => {
                    if let Some(spec) = model::spec(kind, key) {
                        self.take_scalar(spec.path, &ROOT, key, v, item.conflict, &mut fields, &mut conflicts)?;
                    }
                }
            }
        }
        for (name, obj) in nested {
            match model::spec(kind, &name) {
                Some(spec) if matches!(spec.kind, Kind::Set { .. }) => {
                    let mut items = BTreeMap::new();
                    for item in self.doc.map_range(&obj, ..) {
                        if let Some(s) = ref_text(&item.value) {
                            items.insert(item.key.to_string(), s);
                        }
                    }
                    if !items.is_empty() {
                        fields.0.insert(spec.path, FieldValue::Set(items));
                    }
                }
                Some(_) => {}
                None => {
                    for item in self.doc.map_range(&obj, ..) {
                        let path = format!("{name}.{}", item.key);
                        if let Some(spec) = model::spec(kind, &path) {
                            self.take_scalar(
                                spec.path,
                                &obj,
                                &item.key,
                                &item.value,
                                item.conflict,
                                &mut fields,
                                &mut conflicts,
                            )?;
                        }
                    }
                }
            }
        }
        conflicts.sort_by_key(|c: &Conflict| kind.fields().iter().position(|f| f.path == c.field));
        let id = id.ok_or_else(|| DocError::Corrupt("no id".into()))?;
        let enrolled_at = enrolled_at.unwrap_or_default();
        Ok(Record {
            meta: Meta {
                id,
                kind,
                health_id,
                enrolled_by,
                enrolled_device,
                enrolled_at: millis(enrolled_at),
                updated_at: millis(updated_at.unwrap_or(enrolled_at)),
            },
            fields,
            conflicts,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn take_scalar(
        &self,
        path: &'static str,
        obj: &ObjId,
        key: &str,
        winner: &automerge::ValueRef<'_>,
        conflict: bool,
        fields: &mut Fields,
        conflicts: &mut Vec<Conflict>,
    ) -> Result<(), DocError> {
        if !conflict {
            if let Some(v) = ref_field_value(winner) {
                fields.0.insert(path, v);
            }
            return Ok(());
        }
        let all = self.doc.get_all(obj, key)?;
        let values: Vec<FieldValue> = all.iter().filter_map(|(v, _)| field_value(v)).collect();
        if let Some(w) = values.last() {
            fields.0.insert(path, w.clone());
        }
        let mut distinct: Vec<serde_json::Value> = Vec::new();
        for v in &values {
            let j = v.to_json();
            if !distinct.contains(&j) {
                distinct.push(j);
            }
        }
        if distinct.len() > 1 {
            conflicts.push(Conflict { field: path.to_string(), values: distinct });
        }
        Ok(())
    }

    fn timestamps(&self, obj: &ObjId, key: &str) -> Result<Vec<i64>, DocError> {
        Ok(self
            .doc
            .get_all(obj, key)?
            .into_iter()
            .filter_map(|(v, _)| match v {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Timestamp(t) | ScalarValue::Int(t) => Some(*t),
                    _ => None,
                },
                _ => None,
            })
            .collect())
    }
}

fn millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// A new document's root map as plain sorted entries: what
/// [`RecordDoc::create`] hands Automerge (as a `hydrate::Map`) and what
/// [`RecordDoc::create_change`] encodes directly, without hashing keys.
#[derive(Default)]
struct InitialMap<'a> {
    /// Sorted by key, each key once (after [`InitialMap::sort`]).
    entries: Vec<(std::borrow::Cow<'a, str>, InitialValue<'a>)>,
}

enum InitialValue<'a> {
    Scalar(ScalarValue),
    Map(InitialMap<'a>),
}

impl InitialMap<'_> {
    fn put(&mut self, key: &'static str, value: ScalarValue) {
        self.entries.push((key.into(), InitialValue::Scalar(value)));
    }

    /// Keys in byte order, nested maps too; of a key put twice the last
    /// value stays (as a map insert would).
    fn sort(&mut self) {
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut i = 0;
        while i + 1 < self.entries.len() {
            if self.entries[i].0 == self.entries[i + 1].0 {
                self.entries.remove(i);
            } else {
                i += 1;
            }
        }
        for (_, v) in &mut self.entries {
            if let InitialValue::Map(m) = v {
                m.sort();
            }
        }
    }

    fn to_hydrate(&self) -> hydrate::Map {
        let mut m = hydrate::Map::default();
        for (k, v) in &self.entries {
            let value = match v {
                InitialValue::Scalar(s) => hydrate::Value::Scalar(s.clone()),
                InitialValue::Map(inner) => hydrate::Value::Map(inner.to_hydrate()),
            };
            m.insert(k.to_string(), hydrate::MapValue { value, conflict: false });
        }
        m
    }
}

/// A new record's creating change encoded by Automerge from its
/// operations ([`initial_op_list`]): what `init_root_from_hydrate` and a
/// commit make, so the same bytes and hash as [`RecordDoc::create`].
fn automerge_change(ops: &[InitialOp<'_>], actor: &ActorId, ctx: &EditContext) -> (Vec<u8>, ChangeHash) {
    use automerge::legacy::{Key, ObjectId, Op, OpId, OpType, SortedVec};
    let operations = ops
        .iter()
        .map(|(obj, key, value)| Op {
            action: match value {
                Some(s) => OpType::Put((*s).clone()),
                None => OpType::Make(ObjType::Map),
            },
            obj: match obj {
                0 => ObjectId::Root,
                n => ObjectId::Id(OpId(*n, actor.clone())),
            },
            key: Key::Map((*key).into()),
            pred: SortedVec::new(),
            insert: false,
        })
        .collect();
    let options = commit_options(ctx, "enroll");
    let change = automerge::ExpandedChange {
        operations,
        actor_id: actor.clone(),
        hash: None,
        seq: 1,
        start_op: std::num::NonZeroU64::MIN,
        time: options.time.unwrap_or_default(),
        message: options.message,
        deps: Vec::new(),
        extra_bytes: Vec::new(),
        author: None,
    };
    let change = automerge::Change::from(change);
    (change.raw_bytes().to_vec(), change.hash())
}

fn set_map(items: &BTreeMap<String, String>) -> InitialMap<'static> {
    InitialMap {
        entries: items
            .iter()
            .map(|(k, v)| (k.clone().into(), InitialValue::Scalar(ScalarValue::Str(v.as_str().into()))))
            .collect(),
    }
}

fn ref_text(v: &automerge::ValueRef<'_>) -> Option<String> {
    match v {
        automerge::ValueRef::Scalar(automerge::ScalarValueRef::Str(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn ref_field_value(v: &automerge::ValueRef<'_>) -> Option<FieldValue> {
    use automerge::ScalarValueRef as S;
    match v {
        automerge::ValueRef::Scalar(S::Str(t)) => Some(FieldValue::Text(t.to_string())),
        automerge::ValueRef::Scalar(S::Int(i)) => Some(FieldValue::Int(*i)),
        automerge::ValueRef::Scalar(S::Uint(u)) => i64::try_from(*u).ok().map(FieldValue::Int),
        automerge::ValueRef::Scalar(S::Boolean(b)) => Some(FieldValue::Bool(*b)),
        _ => None,
    }
}

fn field_value(v: &Value<'_>) -> Option<FieldValue> {
    match v {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(t) => Some(FieldValue::Text(t.to_string())),
            ScalarValue::Int(i) => Some(FieldValue::Int(*i)),
            ScalarValue::Uint(u) => i64::try_from(*u).ok().map(FieldValue::Int),
            ScalarValue::Boolean(b) => Some(FieldValue::Bool(*b)),
            _ => None,
        },
        Value::Object(_) => None,
    }
}

fn scalar_eq(v: &Value<'_>, s: &ScalarValue) -> bool {
    matches!(v, Value::Scalar(cur) if cur.as_ref() == s)
}

fn commit_options(ctx: &EditContext, what: &str) -> CommitOptions {
    CommitOptions::default().with_time(ctx.now.timestamp()).with_message(format!("{what} by {}", ctx.worker))
}

/// Encodes new records' creating changes for a bulk import: the very bytes
/// and hash [`RecordDoc::create_change`] gives, several times faster.
///
/// Records of one kind share the shape of their change (which objects,
/// keys and kinds of operation, in which order) and differ in values. The
/// first record of each shape is encoded by Automerge; its chunk is taken
/// apart, and every column but the values' is kept. Later records of that
/// shape are written as that chunk with their own values column (Automerge's
/// run-length encoding of each value's type and length, then the values'
/// bytes) and their own hash. The bytes must be Automerge's own, not just
/// a chunk it reads: a document saved and loaded again re-encodes its
/// changes and checks their hashes. So the record a shape is taken from
/// is also encoded this way and compared; a shape whose bytes differ, or
/// a value of another type, is left to Automerge.
///
/// A shape is taken apart the second time it is seen, and at most
/// [`MAX_SHAPES`] are kept: a household's members are keys of its set, so
/// every household has a shape of its own, which is never kept.
pub struct ChangeEncoder {
    actor: ActorId,
    ctx: EditContext,
    shapes: std::collections::HashMap<u64, Vec<Shape>>,
    /// Hashes of shapes seen once (a slot per hash, the last one wins).
    seen: Vec<u64>,
    kept: usize,
    /// Changes encoded here, and by Automerge.
    encoded: (u64, u64),
}

/// Shapes one [`ChangeEncoder`] keeps at most (a roll's residents have a
/// few dozen: which optional fields a row fills).
pub const MAX_SHAPES: usize = 1024;
/// Slots of shapes seen once.
const SEEN_SLOTS: usize = 4096;

/// The parts of a change chunk that records of one shape share.
struct Shape {
    /// Per operation: the object (0 the root, else its op counter), key,
    /// whether it makes a map.
    ops: Vec<(u64, Box<str>, bool)>,
    /// The chunk's magic bytes and type.
    magic: [u8; 4],
    chunk_type: u8,
    /// Dependencies, actor, sequence, start op, time, message, other actors.
    prefix: Vec<u8>,
    /// Columns (specification, bytes) before and after the values' two.
    before: Vec<(u64, Vec<u8>)>,
    after: Vec<(u64, Vec<u8>)>,
    extra: Vec<u8>,
    /// Encoding here gave Automerge's bytes for the shape's first record.
    fast: bool,
}

/// An operation of a new record's change: where, which key, what value
/// (`None`: it makes a map).
type InitialOp<'r> = (u64, &'r str, Option<&'r ScalarValue>);

/// Column specifications of a change's values: their type-and-length
/// metadata, and their bytes (column 5; types 6 and 7).
const VALUE_META_SPEC: u64 = (5 << 4) | 6;
const VALUE_SPEC: u64 = (5 << 4) | 7;

impl ChangeEncoder {
    pub fn new(actor: &ActorId, ctx: &EditContext) -> Self {
        ChangeEncoder {
            actor: actor.clone(),
            ctx: ctx.clone(),
            shapes: std::collections::HashMap::new(),
            seen: vec![0; SEEN_SLOTS],
            kept: 0,
            encoded: (0, 0),
        }
    }

    /// How many shapes are kept.
    pub fn shapes(&self) -> usize {
        self.kept
    }

    /// How many changes were encoded here, and how many by Automerge (the
    /// first of each shape, and shapes left to it).
    pub fn encoded(&self) -> (u64, u64) {
        self.encoded
    }

    /// What [`RecordDoc::create_change`] returns for this record.
    pub fn create_change(&mut self, kind: RecordKind, origin: &Origin, fields: &Fields) -> (Vec<u8>, ChangeHash) {
        let root = RecordDoc::initial_root(kind, origin, fields, &self.ctx);
        let ops = initial_op_list(&root);
        let key = shape_key(&ops);
        let same = |s: &Shape| {
            s.ops.len() == ops.len()
                && s.ops.iter().zip(&ops).all(|(a, b)| a.0 == b.0 && *a.1 == *b.1 && a.2 == b.2.is_none())
        };
        if let Some(shape) = self.shapes.get(&key).and_then(|list| list.iter().find(|s| same(s)))
            && shape.fast
            && let Some(made) = shape.encode(&ops)
        {
            self.encoded.0 += 1;
            return made;
        }
        self.encoded.1 += 1;
        let (bytes, hash) = automerge_change(&ops, &self.actor, &self.ctx);
        let slot = &mut self.seen[(key % SEEN_SLOTS as u64) as usize];
        let again = std::mem::replace(slot, key) == key;
        if again
            && self.kept < MAX_SHAPES
            && !self.shapes.get(&key).is_some_and(|list| list.iter().any(same))
            && let Some(mut shape) = Shape::parse(&bytes, &ops)
        {
            shape.fast = shape.encode(&ops).is_some_and(|(b, h)| b == bytes && h == hash);
            self.shapes.entry(key).or_default().push(shape);
            self.kept += 1;
        }
        (bytes, hash)
    }
}

/// The operations `init_root_from_hydrate` makes of `root` in a new
/// document: breadth first, each map's keys in byte order, op counters from
/// 1 (an operation that makes a map is the object of the operations in it).
/// Only maps and scalars (all a record holds).
fn initial_op_list<'r>(root: &'r InitialMap<'_>) -> Vec<InitialOp<'r>> {
    let mut ops = Vec::with_capacity(64);
    let mut queue = std::collections::VecDeque::from([(0u64, root)]);
    while let Some((obj, map)) = queue.pop_front() {
        for (key, v) in &map.entries {
            let counter = ops.len() as u64 + 1;
            match v {
                InitialValue::Scalar(s) => ops.push((obj, key.as_ref(), Some(s))),
                InitialValue::Map(m) => {
                    queue.push_back((counter, m));
                    ops.push((obj, key.as_ref(), None));
                }
            }
        }
    }
    ops
}

/// A hash of a shape (FNV-1a over objects, keys and kinds).
fn shape_key(ops: &[InitialOp<'_>]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (obj, key, value) in ops {
        eat(&obj.to_le_bytes());
        eat(key.as_bytes());
        eat(&[0xff, u8::from(value.is_none())]);
    }
    h
}

impl Shape {
    /// Take apart Automerge's chunk of a record of this shape.
    fn parse(bytes: &[u8], ops: &[InitialOp<'_>]) -> Option<Shape> {
        let magic: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
        let chunk_type = *bytes.get(8)?;
        let mut at = 9;
        let len = usize::try_from(read_uleb(bytes, &mut at)?).ok()?;
        let data = bytes.get(at..)?;
        if data.len() != len {
            return None;
        }
        let mut at = 0;
        let deps = usize::try_from(read_uleb(data, &mut at)?).ok()?;
        at = at.checked_add(deps.checked_mul(32)?)?;
        skip_bytes(data, &mut at)?; // actor
        read_uleb(data, &mut at)?; // seq
        read_uleb(data, &mut at)?; // start op
        read_sleb(data, &mut at)?; // time
        skip_bytes(data, &mut at)?; // message
        for _ in 0..read_uleb(data, &mut at)? {
            skip_bytes(data, &mut at)?;
        }
        let prefix = data.get(..at)?.to_vec();
        let columns = read_uleb(data, &mut at)?;
        let mut specs = Vec::new();
        for _ in 0..columns {
            let spec = read_uleb(data, &mut at)?;
            let len = usize::try_from(read_uleb(data, &mut at)?).ok()?;
            specs.push((spec, len));
        }
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for (spec, len) in specs {
            let column = data.get(at..at.checked_add(len)?)?.to_vec();
            at += len;
            match spec {
                VALUE_META_SPEC | VALUE_SPEC => {}
                s if s < VALUE_META_SPEC => before.push((spec, column)),
                _ => after.push((spec, column)),
            }
        }
        Some(Shape {
            ops: ops.iter().map(|(obj, key, v)| (*obj, Box::from(*key), v.is_none())).collect(),
            magic,
            chunk_type,
            prefix,
            before,
            after,
            extra: data.get(at..)?.to_vec(),
            fast: false,
        })
    }

    /// The chunk of a record of this shape with these values; `None` for a
    /// value of a type not encoded here.
    fn encode(&self, ops: &[InitialOp<'_>]) -> Option<(Vec<u8>, ChangeHash)> {
        let mut meta = RleU64::default();
        let mut values = Vec::with_capacity(256);
        for (_, _, value) in ops {
            let code = match value {
                None | Some(ScalarValue::Null) => 0,
                Some(ScalarValue::Boolean(false)) => 1,
                Some(ScalarValue::Boolean(true)) => 2,
                Some(ScalarValue::Uint(u)) => {
                    write_uleb(&mut values, *u);
                    (uleb_size(*u) << 4) | 3
                }
                Some(ScalarValue::Int(i)) => {
                    write_sleb(&mut values, *i);
                    (sleb_size(*i) << 4) | 4
                }
                Some(ScalarValue::Str(s)) => {
                    values.extend_from_slice(s.as_bytes());
                    ((s.len() as u64) << 4) | 6
                }
                Some(ScalarValue::Timestamp(t)) => {
                    write_sleb(&mut values, *t);
                    (sleb_size(*t) << 4) | 9
                }
                Some(_) => return None,
            };
            meta.append(code);
        }
        let meta = meta.finish();
        let columns: Vec<(u64, &[u8])> = self
            .before
            .iter()
            .map(|(s, c)| (*s, c.as_slice()))
            .chain([(VALUE_META_SPEC, meta.as_slice()), (VALUE_SPEC, values.as_slice())])
            .chain(self.after.iter().map(|(s, c)| (*s, c.as_slice())))
            .filter(|(_, c)| !c.is_empty())
            .collect();
        let body: usize = columns.iter().map(|(_, c)| c.len()).sum();
        let mut data = Vec::with_capacity(self.prefix.len() + 3 * columns.len() + body + self.extra.len() + 2);
        data.extend_from_slice(&self.prefix);
        write_uleb(&mut data, columns.len() as u64);
        for (spec, column) in &columns {
            write_uleb(&mut data, *spec);
            write_uleb(&mut data, column.len() as u64);
        }
        for (_, column) in &columns {
            data.extend_from_slice(column);
        }
        data.extend_from_slice(&self.extra);
        let mut head = Vec::with_capacity(10);
        head.push(self.chunk_type);
        write_uleb(&mut head, data.len() as u64);
        let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, &head);
        sha2::Digest::update(&mut hasher, &data);
        let hash: [u8; 32] = sha2::Digest::finalize(hasher).into();
        let mut out = Vec::with_capacity(8 + head.len() + data.len());
        out.extend_from_slice(&self.magic);
        out.extend_from_slice(&hash[..4]);
        out.extend_from_slice(&head);
        out.extend_from_slice(&data);
        Some((out, ChangeHash(hash)))
    }
}

/// Automerge's run-length encoding of a column of unsigned integers with
/// no nulls: a run of one value is its length (signed LEB128) and the
/// value; values that do not repeat are written as a literal run, minus
/// its length and the values. A value that repeats the last of a literal
/// run ends that run and starts a run of two.
#[derive(Default)]
struct RleU64 {
    out: Vec<u8>,
    state: Rle,
}

#[derive(Default)]
enum Rle {
    #[default]
    Empty,
    Lone(u64),
    Run(u64, u64),
    Literal(u64, Vec<u64>),
}

impl RleU64 {
    fn append(&mut self, value: u64) {
        self.state = match std::mem::take(&mut self.state) {
            Rle::Empty => Rle::Lone(value),
            Rle::Lone(other) if other == value => Rle::Run(value, 2),
            Rle::Lone(other) => Rle::Literal(value, vec![other]),
            Rle::Run(other, n) if other == value => Rle::Run(other, n + 1),
            Rle::Run(other, n) => {
                self.run(other, n);
                Rle::Lone(value)
            }
            Rle::Literal(last, run) if last == value => {
                self.literal(&run);
                Rle::Run(value, 2)
            }
            Rle::Literal(last, mut run) => {
                run.push(last);
                Rle::Literal(value, run)
            }
        }
    }

    fn run(&mut self, value: u64, n: u64) {
        write_sleb(&mut self.out, n as i64);
        write_uleb(&mut self.out, value);
    }

    fn literal(&mut self, values: &[u64]) {
        write_sleb(&mut self.out, -(values.len() as i64));
        for v in values {
            write_uleb(&mut self.out, *v);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        match std::mem::take(&mut self.state) {
            Rle::Empty => {}
            Rle::Lone(v) => self.literal(&[v]),
            Rle::Run(v, n) => self.run(v, n),
            Rle::Literal(last, mut run) => {
                run.push(last);
                self.literal(&run);
            }
        }
        self.out
    }
}

fn write_uleb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn write_sleb(out: &mut Vec<u8>, mut value: i64) {
    loop {
        let byte = (value as u8) & 0x7f;
        value >>= 6;
        if value == 0 || value == -1 {
            out.push(byte);
            return;
        }
        value >>= 1;
        out.push(byte | 0x80);
    }
}

/// Bytes of `value` in unsigned and signed LEB128, as Automerge counts them
/// for a value's metadata.
fn uleb_size(value: u64) -> u64 {
    if value == 0 { 1 } else { (64 - u64::from(value.leading_zeros())).div_ceil(7) }
}

fn sleb_size(value: i64) -> u64 {
    let v = if value < 0 { !value } else { value };
    (1 + 64 - u64::from(v.leading_zeros())).div_ceil(7)
}

fn read_uleb(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_sleb(data: &[u8], at: &mut usize) -> Option<i64> {
    let mut value = 0i64;
    let mut shift = 0;
    loop {
        let byte = *data.get(*at)?;
        *at += 1;
        if shift < 64 {
            value |= i64::from(byte & 0x7f) << shift;
        }
        shift += 7;
        if byte & 0x80 == 0 {
            if shift < 64 && byte & 0x40 != 0 {
                value |= -1i64 << shift;
            }
            return Some(value);
        }
        if shift > 70 {
            return None;
        }
    }
}

/// Skip a length-prefixed byte string.
fn skip_bytes(data: &[u8], at: &mut usize) -> Option<()> {
    let len = usize::try_from(read_uleb(data, at)?).ok()?;
    *at = at.checked_add(len).filter(|end| *end <= data.len())?;
    Some(())
}
