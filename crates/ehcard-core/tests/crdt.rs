//! Record documents merge without loss: different fields from different
//! devices all survive, sets merge as sets, and concurrent edits of one
//! field keep every value visible in `conflicts`.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use automerge::ActorId;
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_core::doc::{Edit, Origin, RecordDoc};
use ehcard_core::model::{FieldValue, RecordKind, parse_input};
use ehcard_core::{EditContext, RecordId, SeededEntropy};
use proptest::prelude::*;
use serde_json::json;

fn at(secs: i64) -> EditContext {
    EditContext::new(DateTime::<Utc>::from_timestamp(1_790_000_000 + secs, 0).unwrap(), "tester")
}

fn actor(n: u8) -> ActorId {
    ActorId::from([n; 16])
}

fn base() -> RecordDoc {
    let input = parse_input(
        RecordKind::Resident,
        &json!({
            "given_name": "Asha", "sex": "female", "birth_year": 1985, "phone": "9876543210",
            "address": {"street": "Gali 1", "ward": 7}, "allergies": ["Dust"], "blood_group": "A+"
        }),
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
    )
    .unwrap();
    RecordDoc::create(RecordKind::Resident, &origin(1, "tester"), &input.fields, &actor(0), &at(0)).unwrap()
}

/// A new record's origin: its id from `seed`, enrolled at time 0.
fn origin(seed: u64, enrolled_by: &str) -> Origin {
    Origin {
        id: RecordId::new_v7(1_790_000_000_000, &mut SeededEntropy::new(seed)),
        health_id: None,
        enrolled_by: enrolled_by.into(),
        enrolled_device: None,
        enrolled_at: at(0).now,
    }
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

/// Round-trip through bytes, as sync does.
fn exchange(a: &mut RecordDoc, b: &mut RecordDoc) {
    let a_bytes = a.save();
    let b_bytes = b.save();
    a.load_incremental(&b_bytes).unwrap();
    b.load_incremental(&a_bytes).unwrap();
}

#[test]
fn different_fields_from_two_devices_both_survive() {
    let mut origin = base();
    let mut a = origin.fork(&actor(1));
    let mut b = origin.fork(&actor(2));
    a.apply(&[Edit::Set("phone", text("9123456789"))], &at(10)).unwrap();
    b.apply(&[Edit::Set("address.street", text("Gali 9"))], &at(20)).unwrap();
    exchange(&mut a, &mut b);
    let ra = a.read().unwrap();
    let rb = b.read().unwrap();
    assert_eq!(ra.to_json(), rb.to_json());
    assert_eq!(ra.fields.text("phone"), Some("9123456789"));
    assert_eq!(ra.fields.text("address.street"), Some("Gali 9"));
    assert!(ra.conflicts.is_empty());
    assert_eq!(ra.meta.updated_at, at(20).now, "updated_at is the latest edit");
}

#[test]
fn same_field_keeps_both_values_until_someone_resolves_it() {
    let mut origin = base();
    let mut a = origin.fork(&actor(1));
    let mut b = origin.fork(&actor(2));
    a.apply(&[Edit::Set("blood_group", text("B+"))], &at(10)).unwrap();
    b.apply(&[Edit::Set("blood_group", text("O-"))], &at(11)).unwrap();
    exchange(&mut a, &mut b);
    let ra = a.read().unwrap();
    assert_eq!(ra.to_json(), b.read().unwrap().to_json());
    assert_eq!(ra.conflicts.len(), 1);
    assert_eq!(ra.conflicts[0].field, "blood_group");
    let mut values: Vec<String> = ra.conflicts[0].values.iter().map(|v| v.as_str().unwrap().to_string()).collect();
    values.sort();
    assert_eq!(values, ["B+", "O-"]);
    // A reviewer who has seen both picks one: the conflict is gone everywhere.
    a.apply(&[Edit::Set("blood_group", text("O-"))], &at(30)).unwrap();
    exchange(&mut a, &mut b);
    let rb = b.read().unwrap();
    assert!(rb.conflicts.is_empty());
    assert_eq!(rb.fields.text("blood_group"), Some("O-"));
}

#[test]
fn sets_merge_as_sets() {
    let mut origin = base();
    let mut a = origin.fork(&actor(1));
    let mut b = origin.fork(&actor(2));
    a.apply(&[Edit::Add("allergies", "Peanut".into())], &at(10)).unwrap();
    b.apply(&[Edit::Add("allergies", "Penicillin".into()), Edit::Remove("allergies", "dust".into())], &at(11)).unwrap();
    exchange(&mut a, &mut b);
    let r = a.read().unwrap();
    assert_eq!(r.fields.set_items("allergies"), ["Peanut", "Penicillin"]);
    assert!(r.conflicts.is_empty());
    assert_eq!(r.to_json(), b.read().unwrap().to_json());
}

#[test]
fn an_edit_that_changes_nothing_makes_no_change() {
    let mut d = base();
    let heads = d.heads();
    assert!(!d.apply(&[Edit::Set("phone", text("9876543210"))], &at(5)).unwrap());
    assert_eq!(d.heads(), heads);
}

#[test]
fn a_damaged_document_is_refused() {
    let mut d = base();
    let mut bytes = d.save();
    bytes.truncate(bytes.len() / 2);
    assert!(RecordDoc::load(&bytes, &actor(3)).is_err());
    assert!(RecordDoc::load(b"not a document", &actor(3)).is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Phone(u8),
    Street(u8),
    Blood(u8),
    Add(u8),
    Remove(u8),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..5).prop_map(Op::Phone),
        (0u8..5).prop_map(Op::Street),
        (0u8..8).prop_map(Op::Blood),
        (0u8..6).prop_map(Op::Add),
        (0u8..6).prop_map(Op::Remove),
        Just(Op::Clear),
    ]
}

fn edit(op: &Op) -> Edit {
    const GROUPS: [&str; 8] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];
    match op {
        Op::Phone(n) => Edit::Set("phone", text(&format!("98765432{:02}", n))),
        Op::Street(n) => Edit::Set("address.street", text(&format!("Gali {n}"))),
        Op::Blood(n) => Edit::Set("blood_group", text(GROUPS[*n as usize])),
        Op::Add(n) => Edit::Add("allergies", format!("item {n}")),
        Op::Remove(n) => Edit::Remove("allergies", format!("item {n}")),
        Op::Clear => Edit::Clear("phone"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random edit sequences on forks, merged in random orders, converge to
    /// the same JSON on every replica.
    #[test]
    fn forks_converge_whatever_the_order(
        edits in prop::collection::vec(prop::collection::vec(op(), 0..6), 2..5),
        order in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut origin = base();
        let mut replicas: Vec<RecordDoc> =
            (0..edits.len()).map(|i| origin.fork(&actor(i as u8 + 1))).collect();
        for (i, ops) in edits.iter().enumerate() {
            for (j, o) in ops.iter().enumerate() {
                replicas[i].apply(&[edit(o)], &at((i * 10 + j) as i64)).unwrap();
            }
        }
        // Partial exchanges in a random order first...
        let n = replicas.len();
        for pair in order.chunks(2) {
            if let [x, y] = pair {
                let (x, y) = (x.index(n), y.index(n));
                if x != y {
                    let bytes = replicas[y].save();
                    replicas[x].load_incremental(&bytes).unwrap();
                }
            }
        }
        // ...then everyone receives everything, in reverse order.
        let all: Vec<Vec<u8>> = replicas.iter_mut().map(|r| r.save()).collect();
        for r in replicas.iter_mut() {
            for bytes in all.iter().rev() {
                r.load_incremental(bytes).unwrap();
            }
        }
        let first = replicas[0].read().unwrap().to_json();
        for r in &replicas[1..] {
            prop_assert_eq!(&r.read().unwrap().to_json(), &first);
        }
    }
}

/// A bulk import encodes a new record's change directly: it must be the
/// very change `create` makes (same hash), and read as the same record.
#[test]
fn a_directly_encoded_creation_is_the_change_create_makes() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let residents = [
        json!({"given_name": "Asha", "sex": "female", "birth_year": 1985, "address": {"ward": 7}}),
        json!({
            "given_name": "Mohd", "family_name": "Qureshi", "name_hi": "मोहम्मद क़ुरैशी", "sex": "male",
            "birth_year": 1970, "phone": "9876543210", "voter_id": "DLX0000001",
            "address": {"house": "12/3", "street": "Gali No 4", "ward": 250},
            "allergies": ["Dust", "Penicillin"], "blood_group": "B+"
        }),
    ];
    let mut e = SeededEntropy::new(99);
    let members: Vec<String> = (0..3).map(|_| RecordId::new_v7(1_790_000_000_000, &mut e).to_string()).collect();
    let households = [json!({"address": {"house": "7", "ward": 3}, "members": members})];
    let cases = residents
        .iter()
        .map(|j| (RecordKind::Resident, j))
        .chain(households.iter().map(|j| (RecordKind::Household, j)));
    for (n, (kind, input)) in cases.enumerate() {
        let fields = parse_input(kind, input, today).unwrap().fields;
        let origin = origin(n as u64, "electoral-roll");
        let mut made = RecordDoc::create(kind, &origin, &fields, &actor(9), &at(5)).unwrap();
        let (bytes, hash) = RecordDoc::create_change(kind, &origin, &fields, &actor(9), &at(5));
        assert_eq!(made.heads(), vec![hash], "case {n}: the same change");
        let mut loaded = RecordDoc::load(&bytes, &actor(1)).unwrap();
        assert_eq!(loaded.heads(), vec![hash]);
        assert_eq!(loaded.read().unwrap().to_json(), made.read().unwrap().to_json(), "case {n}");
        // A replica holding the created document learns nothing new from it.
        assert_eq!(made.load_incremental(&bytes).unwrap(), 0, "case {n}");
    }
}

/// A random record of `kind`: each field present or not, texts of a few
/// lengths (so runs of equal lengths occur) up to the longest a field
/// takes, in both scripts, numbers small, large and negative, sets of 0-4
/// items.
fn random_fields(kind: RecordKind, e: &mut SeededEntropy) -> ehcard_core::model::Fields {
    use ehcard_core::model::{Fields, Kind};
    let words = ["Asha", "Ravi", "Mohd", "Sita", "गीता", "राम", "क़ुरैशी", "Lakshmi Devi", ""];
    let mut fields = Fields::default();
    for spec in kind.fields() {
        if !spec.required && e.next_u64().is_multiple_of(3) {
            continue;
        }
        let r = e.next_u64();
        let value = match spec.kind {
            Kind::Bool => FieldValue::Bool(r.is_multiple_of(2)),
            Kind::Year | Kind::Ward => FieldValue::Int(match r % 5 {
                0 => 0,
                1 => -((r >> 8) as i64 % 100_000),
                2 => (r >> 4) as i64,
                3 => 63 + (r >> 8) as i64 % 3,
                _ => 1 + (r >> 8) as i64 % 250,
            }),
            Kind::Set { .. } => FieldValue::Set(
                (0..(r % 5))
                    .map(|i| {
                        let item = format!("{}-{i}", words[((r >> 8) + i) as usize % words.len()]);
                        (ehcard_core::model::set_key(&item), item)
                    })
                    .collect(),
            ),
            _ => {
                let n = 1 + (r >> 4) as usize % 4;
                let mut t: String = (0..n).map(|i| words[((r >> 12) as usize + i) % words.len()]).collect();
                if r.is_multiple_of(7) {
                    t = t.repeat(40); // lengths past one LEB128 byte
                }
                FieldValue::Text(t)
            }
        };
        fields.0.insert(spec.path, value);
    }
    fields
}

/// The bulk encoder gives the very bytes and hash of
/// `RecordDoc::create_change`, record after record of many shapes, and
/// encodes most of them itself (not by falling back to Automerge). Its
/// changes load, save and load again (which re-encodes each change and
/// checks its hash).
#[test]
fn the_bulk_encoder_makes_automerges_own_bytes() {
    let mut e = SeededEntropy::new(7);
    let ctx = at(11);
    let mut encoder = ehcard_core::doc::ChangeEncoder::new(&actor(4), &ctx);
    for n in 0..3000u64 {
        let kind = if n % 5 == 0 { RecordKind::Household } else { RecordKind::Resident };
        // Common shapes repeat: a few seeds make most records.
        let mut shape_seed = SeededEntropy::new(if n % 4 == 0 { n } else { n % 6 });
        let mut fields = random_fields(kind, &mut shape_seed);
        // Same shape, other values: redraw every value keeping the keys.
        let other = random_fields(kind, &mut e);
        for (path, value) in fields.0.iter_mut() {
            if let Some(v) = other.0.get(path)
                && std::mem::discriminant(v) == std::mem::discriminant(value)
                && !matches!(v, FieldValue::Set(_))
            {
                *value = v.clone();
            }
        }
        let mut origin = origin(n, "electoral-roll");
        if n % 3 != 0 {
            origin.health_id = Some(ehcard_core::HealthId::registry(n).unwrap());
        }
        let expected = RecordDoc::create_change(kind, &origin, &fields, &actor(4), &ctx);
        let made = encoder.create_change(kind, &origin, &fields);
        assert_eq!(made, expected, "record {n}: {fields:?}");
        if n % 97 == 0 {
            let mut doc = RecordDoc::load(&made.0, &actor(1)).unwrap();
            assert_eq!(doc.heads(), vec![made.1]);
            let again = RecordDoc::load(&doc.save(), &actor(1)).unwrap();
            assert_eq!(again.read().unwrap().to_json(), doc.read().unwrap().to_json(), "record {n}");
        }
    }
    let (here, automerge) = encoder.encoded();
    assert_eq!(here + automerge, 3000);
    assert!(here > 2000, "encoded here {here}, by Automerge {automerge}");
    // Shapes seen once (most households' own) are not kept.
    assert!(encoder.shapes() < 40, "{} shapes kept", encoder.shapes());
}
