//! Merging a duplicate into a survivor keeps both histories, takes what the
//! survivor lacks, shows disagreements as conflicts, and can be undone.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use automerge::ActorId;
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_core::combine::{CombineError, combine, uncombine};
use ehcard_core::doc::{Edit, Origin, RecordDoc};
use ehcard_core::model::{FieldValue, RecordKind, parse_input};
use ehcard_core::{EditContext, RecordId, SeededEntropy};
use serde_json::{Value, json};

fn at(secs: i64) -> EditContext {
    EditContext::new(DateTime::<Utc>::from_timestamp(1_790_000_000 + secs, 0).unwrap(), "reviewer")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn doc(seed: u64, v: Value) -> RecordDoc {
    let input = parse_input(RecordKind::Resident, &v, today()).unwrap();
    let mut e = SeededEntropy::new(seed);
    let origin = Origin {
        id: RecordId::new_v7(1_790_000_000_000, &mut e),
        health_id: None,
        enrolled_by: "worker".into(),
        enrolled_device: None,
        enrolled_at: at(0).now,
    };
    let d = RecordDoc::create(RecordKind::Resident, &origin, &input.fields, &ActorId::from([seed as u8; 16]), &at(0))
        .unwrap();
    // The registry loads both with its own actor.
    RecordDoc::load(&d.clone().save(), &ActorId::from(b"registry".as_slice())).unwrap()
}

fn pair() -> (RecordDoc, RecordDoc) {
    let survivor = doc(
        1,
        json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
               "status": "unverified", "voter_id": "ABC1234567", "blood_group": "B+", "allergies": ["Dust"],
               "address": {"ward": 12, "house": "14"}}),
    );
    let duplicate = doc(
        2,
        json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "date_of_birth": "1980-03-02",
               "phone": "9876543210", "blood_group": "O+", "allergies": ["Penicillin"],
               "address": {"ward": 12, "house": "14/2"}}),
    );
    (survivor, duplicate)
}

#[test]
fn survivor_takes_missing_fields_and_shows_disagreements_as_conflicts() {
    let (mut s, mut d) = pair();
    let c = combine(&mut s, &mut d, &at(10)).unwrap();
    let r = s.read().unwrap();
    // Taken: the survivor had no phone or date of birth.
    assert_eq!(r.fields.text("phone"), Some("9876543210"));
    assert_eq!(r.fields.text("date_of_birth"), Some("1980-03-02"));
    // Sets are united.
    let mut allergies = r.fields.set_items("allergies");
    allergies.sort();
    assert_eq!(allergies, ["Dust", "Penicillin"]);
    // Disagreements keep both values, the survivor's reading as current.
    assert_eq!(r.fields.text("given_name"), Some("Mohammad"));
    assert_eq!(r.fields.text("blood_group"), Some("B+"));
    let fields: Vec<&str> = r.conflicts.iter().map(|c| c.field.as_str()).collect();
    for f in ["given_name", "blood_group", "address.house"] {
        assert!(fields.contains(&f), "{f} should be in conflict: {fields:?}");
    }
    let bg = r.conflicts.iter().find(|c| c.field == "blood_group").unwrap();
    assert!(bg.values.contains(&json!("B+")) && bg.values.contains(&json!("O+")));
    // A field-enrolled duplicate confirms the roll record.
    assert_eq!(r.fields.text("status"), None);
    // The duplicate points to the survivor.
    assert_eq!(d.read().unwrap().fields.text("merged_into"), Some(r.meta.id.to_string().as_str()));
    assert_eq!(c.conflicting.len(), 3);
    assert!(c.taken.iter().any(|(f, _)| f == "phone"));
}

#[test]
fn a_conflict_from_a_merge_is_settled_like_any_other() {
    let (mut s, mut d) = pair();
    combine(&mut s, &mut d, &at(10)).unwrap();
    s.apply(&[Edit::Set("blood_group", FieldValue::Text("O+".into()))], &at(20)).unwrap();
    let r = s.read().unwrap();
    assert_eq!(r.fields.text("blood_group"), Some("O+"));
    assert!(!r.conflicts.iter().any(|c| c.field == "blood_group"));
}

#[test]
fn undo_restores_both_records() {
    let (mut s, mut d) = pair();
    let before = s.read().unwrap();
    let c = combine(&mut s, &mut d, &at(10)).unwrap();
    let left = uncombine(&mut s, &mut d, &c, today(), &at(20)).unwrap();
    assert!(left.is_empty(), "{left:?}");
    let after = s.read().unwrap();
    assert_eq!(after.fields, before.fields);
    assert!(after.conflicts.is_empty(), "{:?}", after.conflicts);
    assert_eq!(d.read().unwrap().fields.text("merged_into"), None);
}

#[test]
fn undo_leaves_what_was_changed_after_the_merge() {
    let (mut s, mut d) = pair();
    let c = combine(&mut s, &mut d, &at(10)).unwrap();
    s.apply(&[Edit::Set("phone", FieldValue::Text("9123456780".into()))], &at(15)).unwrap();
    let left = uncombine(&mut s, &mut d, &c, today(), &at(20)).unwrap();
    assert_eq!(left, ["phone"]);
    assert_eq!(s.read().unwrap().fields.text("phone"), Some("9123456780"));
}

#[test]
fn refuses_merging_twice_or_into_itself() {
    let (mut s, mut d) = pair();
    combine(&mut s, &mut d, &at(10)).unwrap();
    let (mut other, _) = pair();
    assert!(matches!(combine(&mut other, &mut d, &at(11)), Err(CombineError::AlreadyMerged(..))));
    let mut same = s.clone();
    assert!(matches!(combine(&mut s, &mut same, &at(12)), Err(CombineError::Same)));
}
