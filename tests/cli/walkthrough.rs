//! The README walk-through, as a new user would type it.

use serde_json::json;

use crate::support::{Cli, PASS, stderr};

#[test]
fn enroll_show_edit_search_export_import() {
    let cli = Cli::init();
    let record = json!({
        "given_name": "Meena", "family_name": "Kumari", "name_hi": "मीना कुमारी", "sex": "female",
        "date_of_birth": "1992-08-15", "phone": "9811122233", "voter_id": "XYZ1234567",
        "address": {"house": "B-12", "street": "Gali 5", "locality": "Seelampur", "ward": 12, "pincode": "110053"},
        "blood_group": "B+", "allergies": ["Penicillin"], "consent": {"share_clinical_on_card": true}
    });
    // Enroll from stdin.
    let out = cli.run_stdin(&["enroll", "--json-out"], &record.to_string());
    assert!(out.status.success(), "{}", stderr(&out));
    let enrolled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = enrolled["id"].as_str().unwrap().to_string();
    let health_id = enrolled["health_id"].as_str().unwrap().to_string();
    assert_eq!(health_id.len(), 14, "twelve digits in groups of four: {health_id}");
    assert!(health_id.starts_with("0000 7000 001"));
    for key in ["enrolled_by", "enrolled_at", "updated_at", "conflicts", "household_id"] {
        assert!(enrolled.get(key).is_some(), "output lacks {key}");
    }
    assert_eq!(enrolled["enrolled_by"], "tester");

    // Show by eHealth ID, with and without spaces.
    let shown = cli.json(&["show", &health_id, "--json"]);
    assert_eq!(shown["name_hi"], "मीना कुमारी");
    assert_eq!(cli.json(&["show", &health_id.replace(' ', ""), "--json"])["id"], id.as_str());
    // A mistyped eHealth ID is not found (the check digit catches it).
    let mut typo = health_id.clone().into_bytes();
    typo[0] = if typo[0] == b'9' { b'8' } else { typo[0] + 1 };
    let out = cli.run(&["show", std::str::from_utf8(&typo).unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no record"));

    // Edit: a field, a set addition, and a bad value refused as a whole.
    cli.ok(&["edit", &id, "--set", "address.street=Gali 6", "--set", "allergies+=Dust"]);
    let out = cli.run(&["edit", &id, "--set", "phone=12345", "--set", "address.house=C-1"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("phone: must be 10 digits starting with 6-9"), "{}", stderr(&out));
    let out = cli.run(&["--lang", "hi", "edit", &id, "--set", "phone=12345"]);
    assert!(stderr(&out).contains("phone: 6-9 से शुरू होने वाले 10 अंक होने चाहिए"), "{}", stderr(&out));
    let out = cli.run(&["edit", &id, "--set", "health_id=1"]);
    assert_eq!(out.status.code(), Some(3));
    let shown = cli.json(&["show", &id, "--json"]);
    assert_eq!(shown["address"]["street"], "Gali 6");
    assert_eq!(shown["address"]["house"], "B-12");
    assert_eq!(shown["allergies"], json!(["Dust", "Penicillin"]));

    // Search in both scripts, by phone, voter id and eHealth ID.
    for q in ["mee", "मीना", "9811122233", "xyz1234", &health_id] {
        let hits = cli.json(&["search", q, "--json"]);
        assert_eq!(hits.as_array().unwrap().len(), 1, "search {q:?}");
        assert_eq!(hits[0]["id"], id.as_str());
    }
    assert_eq!(cli.json(&["search", "nobody", "--json"]), json!([]));

    let households = cli.json(&["households", "--ward", "12", "--json"]);
    assert_eq!(households[0]["head_name"], "Meena Kumari");
    let stats = cli.json(&["stats", "--json"]);
    assert_eq!(stats["residents"], 1);
    assert_eq!(stats["households"], 1);
    assert_eq!(stats["by_ward"]["12"], 1);

    // Export, then import into a fresh store: the same records come back.
    let export = cli.data().join("..").join(format!("export-{}.jsonl", std::process::id()));
    cli.ok(&["export", export.to_str().unwrap()]);
    let other = Cli::init();
    let out = other.ok(&["import", export.to_str().unwrap()]);
    assert!(out.contains("imported 2 record(s)"), "{out}");
    let again = other.json(&["show", &id, "--json"]);
    assert_eq!(again["health_id"], health_id.as_str());
    assert_eq!(again["allergies"], shown["allergies"]);
    assert_eq!(again["household_id"], shown["household_id"]);
    std::fs::remove_file(export).ok();
    let _ = PASS;
}

#[test]
fn a_wrong_passphrase_says_so_and_exits_4() {
    let cli = Cli::init();
    let out = cli.command(&["stats", "--json"]).env("EHCARD_PASSPHRASE", "not the passphrase").output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("wrong passphrase"), "{}", stderr(&out));
    // Changing the passphrase: old one stops working, new one works.
    let out = cli.command(&["passwd"]).env("EHCARD_NEW_PASSPHRASE", "the new passphrase").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(cli.run(&["stats"]).status.code(), Some(4));
    let out = cli.command(&["stats", "--json"]).env("EHCARD_PASSPHRASE", "the new passphrase").output().unwrap();
    assert!(out.status.success());
}

#[test]
fn commands_without_a_store_or_twice_init_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cli = crate::support::Cli { dir };
    let out = cli.run(&["stats"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(stderr(&out).contains("run `ehcard init` first"), "{}", stderr(&out));
    cli.ok(&["init"]);
    let out = cli.run(&["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already holds an ehcard store"));
    let out = cli.run_stdin(&["enroll"], "{not json");
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("not valid JSON"), "{}", stderr(&out));
}
