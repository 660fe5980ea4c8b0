//! The field workflows on a real store: edits from a form, printing a
//! signed card to PDF and verifying it from the PDF, and error codes.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::{DateTime, Utc};
use ehcard_card::pdf::Layout;
use ehcard_card::trust::{SignedTrustList, TrustEntry, TrustList};
use ehcard_core::ids::DeviceNumber;
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{EditContext, SeededEntropy};
use ehcard_field::FieldError;
use ehcard_field::cards::{preview, print_cards, qr_texts_in_bytes, trust_list, verify_texts};
use ehcard_field::edits::edits_from_json;
use ehcard_store::{CreateOptions, Provisioning, Store};
use serde_json::json;

const PASS: &str = "field test passphrase";
const NOW: i64 = 1_795_000_000;

fn ctx() -> EditContext {
    EditContext::new(DateTime::<Utc>::from_timestamp(NOW, 0).unwrap(), "asha.12")
}

fn store(dir: &std::path::Path) -> Store {
    let options =
        CreateOptions { device_number: DeviceNumber::new(4).unwrap(), device_label: "t".into(), kdf_iterations: 1000 };
    Store::create(dir, PASS, &options, &mut SeededEntropy::new(1)).unwrap()
}

fn enroll(store: &mut Store) -> ehcard_core::RecordId {
    let v = json!({"given_name": "Meena", "family_name": "Kumari", "name_hi": "मीना कुमारी", "sex": "female",
        "birth_year": 1990, "phone": "9811122233", "address": {"ward": 12, "house": "B-12"},
        "blood_group": "B+", "allergies": ["Penicillin"], "consent": {"share_clinical_on_card": true}});
    let input = parse_input(RecordKind::Resident, &v, ctx().today()).unwrap();
    store.enroll(input, &[], &mut SeededEntropy::new(2), &ctx()).unwrap().meta.id
}

#[test]
fn a_form_edit_changes_only_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let id = enroll(&mut s);
    let record = s.show(&id).unwrap();
    let mut form = record.to_json();
    form["phone"] = json!("9811100000");
    form["allergies"] = json!(["Penicillin", "Dust"]);
    form.as_object_mut().unwrap().remove("blood_group");
    let edits = edits_from_json(&record, &form, ctx().today()).unwrap();
    assert_eq!(edits.len(), 3, "{edits:?}");
    let after = s.edit(&id, &edits, &ctx()).unwrap();
    assert_eq!(after.fields.text("phone"), Some("9811100000"));
    assert_eq!(after.fields.text("blood_group"), None);
    assert_eq!(after.fields.text("name_hi"), Some("मीना कुमारी"));

    // Nothing changed: no edits. A bad value: its field, nothing else.
    let same = s.show(&id).unwrap();
    assert!(edits_from_json(&same, &same.to_json(), ctx().today()).unwrap().is_empty());
    let mut bad = same.to_json();
    bad["phone"] = json!("12345");
    let errors = edits_from_json(&same, &bad, ctx().today()).unwrap_err();
    assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["phone"]);
}

#[test]
fn a_printed_card_verifies_from_its_pdf() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let id = enroll(&mut s);

    // Not provisioned: no key to sign with, and a stable code says so.
    let err = print_cards(&s, &[id], Layout::Id1, NOW, &mut |_, _| {}).unwrap_err();
    assert_eq!(err.code(), "not_provisioned");

    let rng = ring::rand::SystemRandom::new();
    let device_key = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec();
    let registry_key = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap().as_ref().to_vec();
    let device_public = ehcard_sync::auth::public_key(&device_key).unwrap();
    let registry_public = ehcard_sync::auth::public_key(&registry_key).unwrap();
    s.set_provisioning(&Provisioning {
        server_url: "https://registry.example".into(),
        device_id: "d1".into(),
        device_number: 4,
        wards: vec![12],
        key_pkcs8_hex: hex::encode(&device_key),
        ca_pem: None,
        registry_public_key_hex: Some(hex::encode(&registry_public)),
    })
    .unwrap();
    assert_eq!(trust_list(Some(&s), None, None).unwrap_err().code(), "no_trust_list");
    let list = TrustList {
        issuer: "registry".into(),
        issued_at: NOW - 10,
        entries: vec![TrustEntry {
            kid: hex::encode(ehcard_card::key_id(&device_public)),
            public_key: hex::encode(&device_public),
            who: "tablet t".into(),
            role: "tablet".into(),
            valid_from: NOW - 100,
            valid_to: None,
            revoked_at: None,
        }],
    };
    let signed = SignedTrustList::sign(&list, &registry_key).unwrap();
    s.set_setting("trust_list", &serde_json::to_string(&signed).unwrap()).unwrap();

    let p = preview(&s, &id, NOW).unwrap();
    assert_eq!(p.qr_dark.len(), p.qr_width * p.qr_width);
    assert_eq!(p.card.clinical.as_ref().and_then(|c| c.blood_group.as_deref()), Some("B+"));

    let printed = print_cards(&s, &[id], Layout::Id1, NOW, &mut |_, _| {}).unwrap();
    assert!(printed.pdf.starts_with(b"%PDF"));
    let texts = qr_texts_in_bytes(&printed.pdf).unwrap();
    assert_eq!(texts.len(), 1, "one QR on the card's back");
    let list = trust_list(Some(&s), None, None).unwrap();
    let verdicts = verify_texts(&texts, &list, NOW + 60);
    assert!(verdicts[0].valid, "{:?}", verdicts[0].reason);
    assert_eq!(verdicts[0].card.as_ref().and_then(|c| c.name_hi.as_deref()), Some("मीना कुमारी"));

    // Expired a year and a day later; a stranger's trust list does not open.
    let later = verify_texts(&texts, &list, NOW + 366 * 24 * 3600);
    assert_eq!(later[0].reason_code.as_deref(), Some("expired"));
    let other = SignedTrustList::sign(&list, &device_key).unwrap();
    let text = serde_json::to_string(&other).unwrap();
    assert_eq!(trust_list(Some(&s), Some(&text), None).unwrap_err().code(), "trust_list_invalid");
}

#[test]
fn provisioning_an_unreachable_server_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("tablet");
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let mut req = ehcard_field::provision::ProvisionRequest::new(&url, "AAAA-BBBB", PASS, NOW);
    req.kdf_iterations = 1000;
    let err = ehcard_field::provision(&target, &req, &mut SeededEntropy::new(3)).unwrap_err();
    assert_eq!(err.code(), "unreachable", "{err}");
    assert!(!ehcard_store::exists(&target));

    let weak = ehcard_field::provision::ProvisionRequest::new(&url, "AAAA-BBBB", "short", NOW);
    let err = ehcard_field::provision(&target, &weak, &mut SeededEntropy::new(3)).unwrap_err();
    assert!(matches!(err, FieldError::Store(ehcard_store::StoreError::WeakPassphrase(_))));
    assert_eq!(err.code(), "weak_passphrase");
}
