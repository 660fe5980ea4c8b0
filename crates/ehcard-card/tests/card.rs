//! Cards: made from a record, read back, checked against a trust list, and
//! read by an independent Claim 169 decoder.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use automerge::ActorId;
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_card::payload::{self, CLAIM_CLINICAL};
use ehcard_card::trust::{Invalid, SignedTrustList, TrustEntry, TrustError, TrustList, verify};
use ehcard_card::{CardData, CardKind, Issue, key_id};
use ehcard_core::doc::{Origin, RecordDoc};
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, HealthId, RecordId, SeededEntropy};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

const T0: i64 = 1_795_000_000;

fn key() -> (Vec<u8>, Vec<u8>) {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap().as_ref().to_vec();
    let public = Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap().public_key().as_ref().to_vec();
    (pkcs8, public)
}

fn record(consent: bool) -> ehcard_core::Record {
    let v = json!({
        "given_name": "Meena", "family_name": "Kumari", "name_hi": "मीना कुमारी", "sex": "female",
        "date_of_birth": "1992-08-15", "phone": "9811122233",
        "address": {"house": "B-12", "street": "Gali 5", "locality": "Seelampur", "ward": 12, "pincode": "110053"},
        "blood_group": "B+", "allergies": ["Penicillin", "Dust"], "chronic_conditions": ["Asthma"],
        "emergency_contact": {"name": "Ram Kumar", "phone": "9811122234"},
        "consent": {"share_clinical_on_card": consent}
    });
    let input = parse_input(RecordKind::Resident, &v, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).unwrap();
    let origin = Origin {
        id: RecordId::new_v7(1, &mut SeededEntropy::new(1)),
        health_id: Some(HealthId::new(DeviceNumber::new(42).unwrap(), 7).unwrap()),
        enrolled_by: "t".into(),
        enrolled_device: None,
        enrolled_at: DateTime::<Utc>::from_timestamp(T0, 0).unwrap(),
    };
    let ctx = EditContext::new(origin.enrolled_at, "t");
    RecordDoc::create(RecordKind::Resident, &origin, &input.fields, &ActorId::from([1u8; 16]), &ctx)
        .unwrap()
        .read()
        .unwrap()
}

fn issue(kind: CardKind) -> Issue {
    Issue { issuer: "https://ehcard.delhi.example".into(), kind, issued_at: T0, expires_at: Some(T0 + 365 * 86_400) }
}

fn entry(public: &[u8], revoked_at: Option<i64>) -> TrustEntry {
    TrustEntry {
        kid: hex::encode(key_id(public)),
        public_key: hex::encode(public),
        who: "tablet 42".into(),
        role: "tablet".into(),
        valid_from: T0 - 86_400,
        valid_to: None,
        revoked_at,
    }
}

fn list(entries: Vec<TrustEntry>) -> TrustList {
    TrustList { issuer: "registry".into(), issued_at: T0, entries }
}

#[test]
fn a_card_round_trips_and_verifies() {
    let (sk, pk) = key();
    let card = CardData::from_record(&record(true)).unwrap();
    let text = payload::encode(&card, &issue(CardKind::Provisional), &key_id(&pk), &sk).unwrap();
    assert!(text.chars().all(|c| "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(c)), "not QR alphanumeric");
    let v = verify(&text, &list(vec![entry(&pk, None)]), T0 + 10);
    assert_eq!(v.result, Ok(()));
    let d = v.decoded.unwrap();
    assert_eq!(d.card, card, "every field comes back");
    assert_eq!(d.card.health_id, HealthId::new(DeviceNumber::new(42).unwrap(), 7).unwrap().to_string());
    assert_eq!(d.issue.kind, CardKind::Provisional);
    assert_eq!(d.card.clinical.unwrap().allergies, ["Dust", "Penicillin"]);
    // QR version 15 at error correction M holds 593 alphanumeric characters;
    // a typical record with its clinical summary must fit.
    assert!(text.len() <= 593, "{} characters: beyond version 15-M", text.len());
    println!("QR text: {} characters", text.len());
}

#[test]
fn without_consent_there_is_no_clinical_claim() {
    let (sk, pk) = key();
    let card = CardData::from_record(&record(false)).unwrap();
    assert!(card.clinical.is_none());
    let text = payload::encode(&card, &issue(CardKind::Permanent), &key_id(&pk), &sk).unwrap();
    let d = payload::decode(&text).unwrap();
    assert!(!d.has_clinical_claim, "claim {CLAIM_CLINICAL} is present");
    assert_eq!(d.issue.kind, CardKind::Permanent);
}

#[test]
fn tampering_unknown_keys_revocation_and_expiry_are_refused() {
    let (sk, pk) = key();
    let card = CardData::from_record(&record(true)).unwrap();
    let text = payload::encode(&card, &issue(CardKind::Provisional), &key_id(&pk), &sk).unwrap();
    let trusted = list(vec![entry(&pk, None)]);
    // One character changed anywhere: never VALID.
    let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".chars().collect();
    for pos in (0..text.len()).step_by(7) {
        let mut chars: Vec<char> = text.chars().collect();
        let at = alphabet.iter().position(|c| *c == chars[pos]).unwrap();
        chars[pos] = alphabet[(at + 1) % alphabet.len()];
        let flipped: String = chars.into_iter().collect();
        let v = verify(&flipped, &trusted, T0 + 10);
        assert!(v.result.is_err(), "a flipped character at {pos} still verified");
    }
    // A signature by a key the list does not have.
    let (other_sk, other_pk) = key();
    let forged = payload::encode(&card, &issue(CardKind::Provisional), &key_id(&pk), &other_sk).unwrap();
    assert_eq!(verify(&forged, &trusted, T0).result, Err(Invalid::BadSignature));
    let unknown = payload::encode(&card, &issue(CardKind::Provisional), &key_id(&other_pk), &other_sk).unwrap();
    assert!(matches!(verify(&unknown, &trusted, T0).result, Err(Invalid::UnknownKey { .. })));
    // Revoked before the card was issued: invalid; revoked after: still valid.
    let revoked_before = list(vec![entry(&pk, Some(T0 - 1))]);
    assert_eq!(verify(&text, &revoked_before, T0).result, Err(Invalid::RevokedKey { revoked_at: T0 - 1 }));
    let revoked_after = list(vec![entry(&pk, Some(T0 + 100))]);
    assert_eq!(verify(&text, &revoked_after, T0 + 200).result, Ok(()));
    // Past its expiry.
    assert!(matches!(verify(&text, &trusted, T0 + 366 * 86_400).result, Err(Invalid::Expired { .. })));
    // Not a card at all.
    assert!(matches!(verify("HELLO WORLD", &trusted, T0).result, Err(Invalid::NotACard { .. })));
}

#[test]
fn a_trust_list_opens_only_with_the_registry_key() {
    let (reg_sk, reg_pk) = key();
    let (_, other_pk) = key();
    let l = list(vec![entry(&key().1, None)]);
    let signed = SignedTrustList::sign(&l, &reg_sk).unwrap();
    assert_eq!(signed.open(&reg_pk).unwrap(), l);
    assert_eq!(signed.open(&other_pk), Err(TrustError::BadSignature));
    let mut tampered = signed.clone();
    tampered.list = tampered.list.replace("tablet 42", "tablet 43");
    assert_eq!(tampered.open(&reg_pk), Err(TrustError::BadSignature));
}

/// MOSIP's reference Claim 169 decoder (PyPI `claim169`, installed by
/// scripts/setup.sh) reads the identity and accepts the signature.
#[test]
fn an_independent_claim_169_decoder_reads_and_verifies_the_card() {
    let (sk, pk) = key();
    let card = CardData::from_record(&record(true)).unwrap();
    let text = payload::encode(&card, &issue(CardKind::Provisional), &key_id(&pk), &sk).unwrap();
    let script = r#"
import sys, json, claim169
text, pk = sys.argv[1], bytes.fromhex(sys.argv[2])
r = claim169.decode(text, verify_with_ed25519=pk, validate_timestamps=False)
c = r.claim169
print(json.dumps({"verified": r.is_verified(), "id": c.id, "full_name": c.full_name,
  "first": c.first_name, "last": c.last_name, "dob": c.date_of_birth, "gender": c.gender,
  "phone": c.phone, "secondary": c.secondary_full_name, "lang2": c.secondary_language,
  "issuer": r.cwt_meta.issuer}, ensure_ascii=False))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, &text, &hex::encode(&pk)])
        .output()
        .expect("python3 (scripts/setup.sh installs the claim169 package)");
    assert!(out.status.success(), "claim169 refused the card: {}", String::from_utf8_lossy(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["verified"], true);
    assert_eq!(got["id"], card.health_id.replace(' ', ""));
    assert_eq!(got["full_name"], "Meena Kumari");
    assert_eq!(got["first"], "Meena");
    assert_eq!(got["last"], "Kumari");
    assert_eq!(got["secondary"], "मीना कुमारी");
    assert_eq!(got["lang2"], "hin");
    assert_eq!(got["phone"], "+919811122233");
    assert_eq!(got["issuer"], "https://ehcard.delhi.example");
    assert!(got["dob"].as_str().unwrap().contains("1992"), "{}", got["dob"]);
    // A flipped signature byte is refused by the reference decoder too.
    let mut bad = text.clone().into_bytes();
    let last = bad.len() - 3;
    bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
    let out = std::process::Command::new("python3")
        .args(["-c", script, std::str::from_utf8(&bad).unwrap(), &hex::encode(&pk)])
        .output()
        .unwrap();
    assert!(!out.status.success() || String::from_utf8_lossy(&out.stdout).contains("\"verified\": false"));
}
