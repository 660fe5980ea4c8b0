//! Every validation rule, in both languages.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use chrono::NaiveDate;
use ehcard_core::Lang;
use ehcard_core::model::{RecordKind, parse_input};
use serde_json::{Value, json};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn valid() -> Value {
    json!({
        "given_name": "Sita", "family_name": "Devi", "name_hi": "सीता देवी", "sex": "female",
        "date_of_birth": "1990-05-17", "phone": "9876543210", "voter_id": "DLX1234567",
        "address": {"house": "12", "street": "Gali 4", "locality": "Seelampur", "ward": 12, "pincode": "110053"},
        "blood_group": "O+", "allergies": ["Peanut"], "chronic_conditions": ["Diabetes"],
        "emergency_contact": {"name": "Ram", "phone": "9123456780"},
        "consent": {"share_clinical_on_card": true}
    })
}

fn with(path: &str, value: Value) -> Value {
    let mut v = valid();
    let mut cur = &mut v;
    let parts: Vec<&str> = path.split('.').collect();
    for p in &parts[..parts.len() - 1] {
        cur = cur.get_mut(*p).unwrap();
    }
    let last = parts[parts.len() - 1];
    if value.is_null() {
        cur.as_object_mut().unwrap().remove(last);
    } else {
        cur[last] = value;
    }
    v
}

/// (the record, the field that must be reported, its code)
fn cases() -> Vec<(Value, &'static str, &'static str)> {
    vec![
        (with("given_name", Value::Null), "given_name", "required"),
        (with("given_name", json!("   ")), "given_name", "empty"),
        (with("given_name", json!("a".repeat(101))), "given_name", "too_long"),
        (with("given_name", json!("Ram\u{0007}")), "given_name", "control_chars"),
        (with("given_name", json!(12)), "given_name", "expected_text"),
        (with("name_hi", json!("Sita")), "name_hi", "devanagari"),
        (with("sex", json!("f")), "sex", "one_of"),
        (with("sex", Value::Null), "sex", "required"),
        (with("date_of_birth", json!("17-05-1990")), "date_of_birth", "date_format"),
        (with("date_of_birth", json!("1990-02-30")), "date_of_birth", "date_format"),
        (with("date_of_birth", json!("2027-01-01")), "date_of_birth", "date_future"),
        (with("date_of_birth", json!("1899-12-31")), "date_of_birth", "date_too_old"),
        (with("date_of_birth", Value::Null), "date_of_birth", "dob_or_year"),
        (with("birth_year", json!(1991)), "birth_year", "year_disagrees"),
        (with("birth_year", json!(2027)), "birth_year", "year_range"),
        (with("phone", json!("5876543210")), "phone", "phone"),
        (with("phone", json!("98765")), "phone", "phone"),
        (with("voter_id", json!("DL1234567")), "voter_id", "voter_id"),
        (with("voter_id", json!("DLX123456A")), "voter_id", "voter_id"),
        (with("address.ward", json!(251)), "address.ward", "ward"),
        (with("address.ward", json!(0)), "address.ward", "ward"),
        (with("address.ward", Value::Null), "address.ward", "required"),
        (with("address", json!("Seelampur")), "address", "expected_object"),
        (with("address.pincode", json!("110100")), "address.pincode", "pincode"),
        (with("address.pincode", json!("560001")), "address.pincode", "pincode"),
        (with("blood_group", json!("C+")), "blood_group", "one_of"),
        (with("allergies", json!("Peanut")), "allergies", "expected_list"),
        (
            with("allergies", json!(["x"; 51].iter().enumerate().map(|(i, _)| format!("a{i}")).collect::<Vec<_>>())),
            "allergies",
            "too_many_items",
        ),
        (with("emergency_contact.phone", json!("123")), "emergency_contact.phone", "phone"),
        (with("emergency_contact.name", Value::Null), "emergency_contact.name", "required"),
        (with("consent.share_clinical_on_card", json!("yes")), "consent.share_clinical_on_card", "expected_bool"),
        (with("relation_to_head", json!("cousin")), "relation_to_head", "one_of"),
        (with("household_id", json!("not-a-uuid")), "household_id", "record_id"),
        (with("id", json!("6ba7b810-9dad-11d1-80b4-00c04fd430c8")), "id", "record_id"),
        (with("health_id", json!("1234 5678 9012")), "health_id", "health_id"),
        (with("nickname", json!("Rammu")), "nickname", "unknown_field"),
        (with("address.colony", json!("X")), "address.colony", "unknown_field"),
        (
            json!({"given_name": "Ram", "sex": "male", "birth_year": 1980, "address": {"ward": 1}, "pregnant": true}),
            "pregnant",
            "pregnant_sex",
        ),
        (json!([1, 2]), "(record)", "not_object"),
    ]
}

#[test]
fn the_valid_record_is_accepted_and_normalised() {
    let mut v = valid();
    v["phone"] = json!("+91 98765-43210");
    v["voter_id"] = json!("dlx1234567");
    v["given_name"] = json!("  Sita   Rani ");
    let input = parse_input(RecordKind::Resident, &v, today()).expect("valid");
    assert_eq!(input.fields.text("phone"), Some("9876543210"));
    assert_eq!(input.fields.text("voter_id"), Some("DLX1234567"));
    assert_eq!(input.fields.text("given_name"), Some("Sita Rani"));
    // Age only: birth_year without a date.
    let age_only = with("date_of_birth", Value::Null);
    let mut age_only = age_only;
    age_only["birth_year"] = json!(1961);
    assert!(parse_input(RecordKind::Resident, &age_only, today()).is_ok());
}

#[test]
fn every_rule_reports_its_field_in_english_and_hindi() {
    for (record, field, code) in cases() {
        let errors = match parse_input(RecordKind::Resident, &record, today()) {
            Ok(_) => panic!("{field}/{code}: accepted {record}"),
            Err(e) => e,
        };
        let e = errors
            .iter()
            .find(|e| e.field == field && e.rule.code() == code)
            .unwrap_or_else(|| panic!("{field}/{code}: got {errors:?}"));
        let en = e.message(Lang::En);
        let hi = e.message(Lang::Hi);
        assert!(en.starts_with(&format!("{field}: ")), "{en}");
        assert!(hi.starts_with(&format!("{field}: ")), "{hi}");
        assert_ne!(en, hi, "{code} has no Hindi message");
        assert!(
            hi.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)),
            "{code}: Hindi message has no Devanagari: {hi}"
        );
    }
}

#[test]
fn the_phone_message_is_exactly_as_documented() {
    let errors = parse_input(RecordKind::Resident, &with("phone", json!("12345")), today()).unwrap_err();
    assert_eq!(errors[0].message(Lang::En), "phone: must be 10 digits starting with 6-9");
    assert_eq!(errors[0].message(Lang::Hi), "phone: 6-9 से शुरू होने वाले 10 अंक होने चाहिए");
}

#[test]
fn all_problems_are_reported_at_once() {
    let v = json!({"given_name": "", "sex": "x", "phone": "1", "address": {"ward": 999}});
    let errors = parse_input(RecordKind::Resident, &v, today()).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for f in ["given_name", "sex", "date_of_birth", "phone", "address.ward"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    // A malformed field is not also reported as missing.
    assert_eq!(fields.iter().filter(|f| **f == "sex").count(), 1);
}

#[test]
fn households_need_a_ward() {
    let errors = parse_input(RecordKind::Household, &json!({"address": {"house": "1"}}), today()).unwrap_err();
    assert_eq!(errors[0].field, "address.ward");
    assert!(parse_input(RecordKind::Household, &json!({"address": {"ward": 3}}), today()).is_ok());
}

/// `schema/record-v1.schema.json` and the field table describe the same fields.
#[test]
fn the_json_schema_matches_the_field_table() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schema/record-v1.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    for kind in [RecordKind::Resident, RecordKind::Household] {
        let def = &schema["$defs"][kind.as_str()]["properties"];
        let mut in_schema = Vec::new();
        for (k, v) in def.as_object().unwrap() {
            if ehcard_core::model::META_KEYS.contains(&k.as_str()) {
                continue;
            }
            match v.get("properties").and_then(Value::as_object) {
                Some(inner) => in_schema.extend(inner.keys().map(|ik| format!("{k}.{ik}"))),
                None => in_schema.push(k.clone()),
            }
        }
        in_schema.sort();
        let mut in_code: Vec<String> = kind.fields().iter().map(|f| f.path.to_string()).collect();
        in_code.sort();
        assert_eq!(in_schema, in_code, "{kind:?}");
    }
}
