//! The encrypted store on a real SQLCipher file.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::fs;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use ehcard_core::doc::Edit;
use ehcard_core::model::{FieldValue, Input, RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, SeededEntropy};
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, SearchKind, Store, StoreError};
use serde_json::{Value, json};

const PASS: &str = "correct horse battery";

fn ctx() -> EditContext {
    EditContext::new(DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap(), "worker-1")
}

fn new_store(dir: &Path) -> Store {
    let options = CreateOptions {
        device_number: DeviceNumber::new(42).unwrap(),
        device_label: "ward 7 tablet".into(),
        kdf_iterations: DEFAULT_ITERATIONS,
    };
    Store::create(dir, PASS, &options, &mut SeededEntropy::new(9)).unwrap()
}

fn input(v: Value) -> Input {
    parse_input(RecordKind::Resident, &v, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).unwrap()
}

fn sita() -> Value {
    json!({
        "given_name": "Sita", "family_name": "Sharma", "name_hi": "सीता शर्मा", "sex": "female",
        "birth_year": 1984, "phone": "9876501234", "voter_id": "DLX7654321",
        "address": {"house": "44", "street": "Gali 2", "locality": "Jafrabad", "ward": 7, "pincode": "110053"},
        "allergies": ["Sulfa"], "consent": {"share_clinical_on_card": false}
    })
}

fn read_all_files(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            all.extend(fs::read(&p).unwrap());
        }
    }
    all
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_personal_is_readable_in_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let mut e = SeededEntropy::new(1);
    // Fifty look-alikes: a bulk import (enroll would call them duplicates).
    let batch = (0..50)
        .map(|i| {
            let mut v = sita();
            v["phone"] = json!(format!("98765{:05}", i));
            v["voter_id"] = json!(format!("DLX{:07}", 7_000_000 + i));
            input(v)
        })
        .collect();
    store.import(batch, &mut e, &ctx(), &mut |_| {}).unwrap();
    // Look at the files both with the log open and after a checkpoint.
    for checkpoint in [false, true] {
        if checkpoint {
            store.checkpoint().unwrap();
        }
        let bytes = read_all_files(dir.path());
        assert!(bytes.len() > 10_000, "the store wrote something");
        for needle in ["Sita", "Sharma", "Jafrabad", "9876500007", "DLX7000007", "Sulfa"] {
            assert!(!contains(&bytes, needle.as_bytes()), "{needle} is readable on disk");
        }
        assert!(!contains(&bytes, "सीता".as_bytes()), "the Hindi name is readable on disk");
        assert!(!contains(&bytes, b"SQLite format 3"), "the database is a plain SQLite file");
    }
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = new_store(dir.path());
        store.enroll(input(sita()), &[], &mut SeededEntropy::new(1), &ctx()).unwrap();
        store.checkpoint().unwrap();
    }
    let before: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let err = Store::open(dir.path(), "wrong passphrase").unwrap_err();
    assert!(matches!(err, StoreError::WrongPassphrase), "{err}");
    assert!(err.to_string().contains("wrong passphrase"));
    let err = Store::change_passphrase(dir.path(), "also wrong", "new passphrase 1").unwrap_err();
    assert!(matches!(err, StoreError::WrongPassphrase));
    let after: Vec<(String, Vec<u8>)> = {
        let mut v: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(before, after, "a failed unlock touched the files");
    let store = Store::open(dir.path(), PASS).unwrap();
    assert_eq!(store.search("sita", 10).unwrap().len(), 1);
}

#[test]
fn the_passphrase_can_be_changed_without_touching_the_data() {
    let dir = tempfile::tempdir().unwrap();
    new_store(dir.path()).enroll(input(sita()), &[], &mut SeededEntropy::new(1), &ctx()).unwrap();
    assert!(matches!(Store::change_passphrase(dir.path(), PASS, "short"), Err(StoreError::WeakPassphrase(8))));
    Store::change_passphrase(dir.path(), PASS, "a new longer passphrase").unwrap();
    assert!(matches!(Store::open(dir.path(), PASS), Err(StoreError::WrongPassphrase)));
    let store = Store::open(dir.path(), "a new longer passphrase").unwrap();
    assert_eq!(store.search("sharma", 10).unwrap().len(), 1);
}

#[test]
fn a_damaged_key_file_says_so() {
    let dir = tempfile::tempdir().unwrap();
    new_store(dir.path());
    fs::write(dir.path().join("ehcard.key"), b"{\"version\": 1").unwrap();
    let err = Store::open(dir.path(), PASS).unwrap_err();
    assert!(matches!(err, StoreError::KeyFile(_)), "{err}");
    let missing = tempfile::tempdir().unwrap();
    assert!(matches!(Store::open(missing.path(), PASS), Err(StoreError::NotInitialised(_))));
}

#[test]
fn enroll_show_search_and_households() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let mut e = SeededEntropy::new(1);
    let sita = store.enroll(input(sita()), &[], &mut e, &ctx()).unwrap();
    let hid = sita.meta.health_id.unwrap();
    assert_eq!(hid.device().get(), 42);
    assert_eq!(hid.sequence(), 1);
    let household = sita.fields.text("household_id").unwrap().to_string();
    assert_eq!(sita.fields.text("relation_to_head"), Some("self"));
    // A second member of the same household.
    let mut child = json!({"given_name": "Kiran", "family_name": "Sharma", "name_hi": "किरण शर्मा", "sex": "male",
        "date_of_birth": "2015-03-02", "relation_to_head": "son",
        "address": {"house": "44", "street": "Gali 2", "ward": 7}});
    child["household_id"] = json!(household);
    let kiran = store.enroll(input(child), &[], &mut e, &ctx()).unwrap();
    assert_eq!(kiran.meta.health_id.unwrap().sequence(), 2);

    let rows = store.households(Some(7), 10).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].members, 2);
    assert_eq!(rows[0].head_name.as_deref(), Some("Sita Sharma"));
    assert!(store.households(Some(8), 10).unwrap().is_empty());

    let by = |q: &str| store.search(q, 10).unwrap().into_iter().map(|h| (h.given_name, h.matched)).collect::<Vec<_>>();
    assert_eq!(by("sit"), [("Sita".to_string(), SearchKind::Name)]);
    assert_eq!(by("SHAR").len(), 2);
    assert_eq!(by("kiran shar"), [("Kiran".to_string(), SearchKind::Name)]);
    assert_eq!(by("किर"), [("Kiran".to_string(), SearchKind::Name)]);
    assert_eq!(by("शर्मा").len(), 2);
    // Devanagari words are whole tokens: a vowel sign or virama does not
    // split them, so a bare letter matches no one.
    assert!(by("र").is_empty(), "{:?}", by("र"));
    assert!(by("मा").is_empty());
    assert_eq!(by("98765 01234"), [("Sita".to_string(), SearchKind::Phone)]);
    assert_eq!(by("dlx765"), [("Sita".to_string(), SearchKind::VoterId)]);
    assert_eq!(by(&hid.to_string()), [("Sita".to_string(), SearchKind::HealthId)]);
    assert!(by("zzz").is_empty());
    assert!(by("\"; DROP TABLE residents; --").is_empty());
    assert_eq!(store.resolve(&hid.compact()).unwrap(), sita.meta.id);
    assert_eq!(store.show(&kiran.meta.id).unwrap().fields.text("name_hi"), Some("किरण शर्मा"));
}

#[test]
fn an_invalid_edit_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let r = store.enroll(input(sita()), &[], &mut SeededEntropy::new(1), &ctx()).unwrap();
    let before = store.show(&r.meta.id).unwrap().to_json();
    // Clearing a required field is refused as a whole, with the valid edit beside it.
    let err = store
        .edit(
            &r.meta.id,
            &[Edit::Set("phone", FieldValue::Text("9000000000".into())), Edit::Clear("given_name")],
            &ctx(),
        )
        .unwrap_err();
    assert!(matches!(&err, StoreError::Invalid(e) if e[0].field == "given_name"), "{err}");
    assert_eq!(store.show(&r.meta.id).unwrap().to_json(), before);
    assert_eq!(store.search("9000000000", 5).unwrap().len(), 0);
    // A valid edit lands and is searchable.
    let later = EditContext::new(ctx().now + chrono::Duration::minutes(5), "worker-2");
    let after = store.edit(&r.meta.id, &[Edit::Set("phone", FieldValue::Text("9000000000".into()))], &later).unwrap();
    assert_eq!(after.meta.updated_at, later.now);
    assert_eq!(store.search("9000000000", 5).unwrap().len(), 1);
}

#[test]
fn projections_rebuild_to_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let mut e = SeededEntropy::new(3);
    let inputs: Vec<Input> = (0..200)
        .map(|i| {
            let mut v = sita();
            v["given_name"] = json!(format!("Name{i}"));
            v["phone"] = json!(format!("97{:08}", i));
            v["voter_id"] = json!(format!("ABC{:07}", i));
            v["address"]["ward"] = json!(1 + i % 5);
            input(v)
        })
        .collect();
    let mut calls = 0;
    assert_eq!(store.import(inputs, &mut e, &ctx(), &mut |_| calls += 1).unwrap(), 200);
    assert!(calls >= 1);
    let snapshot = |store: &Store| {
        let mut hits = store.search("name1", 500).unwrap();
        hits.sort_by(|a, b| a.id.cmp(&b.id));
        (hits, store.households(None, 1000).unwrap(), store.stats(&ctx()).unwrap().by_ward)
    };
    let before = snapshot(&store);
    assert_eq!(before.0.len(), 111, "Name1, Name10-19 and Name100-199");
    assert_eq!(store.reindex(&mut |_| {}).unwrap(), 400, "200 residents and their 200 households");
    let after = snapshot(&store);
    assert!(before == after, "reindex changed the answers");
}

#[test]
fn import_is_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let mut e = SeededEntropy::new(4);
    let first = store.enroll(input(sita()), &[], &mut e, &ctx()).unwrap();
    // The second record reuses the first one's id: the whole batch is refused.
    let mut dup = sita();
    dup["id"] = json!(first.meta.id.to_string());
    let batch = vec![
        input(json!({"given_name": "New", "sex": "male", "birth_year": 1970, "address": {"ward": 7}})),
        input(dup),
    ];
    assert!(matches!(store.import(batch, &mut e, &ctx(), &mut |_| {}), Err(StoreError::Exists(_))));
    assert_eq!(store.stats(&ctx()).unwrap().residents, 1);
    assert!(store.search("new", 5).unwrap().is_empty());
    // The sequence was not consumed by the refused batch.
    let next = store
        .enroll(
            input(json!({"given_name": "Next", "sex": "male", "birth_year": 1970, "address": {"ward": 7}})),
            &[],
            &mut e,
            &ctx(),
        )
        .unwrap();
    assert_eq!(next.meta.health_id.unwrap().sequence(), 2);
}
