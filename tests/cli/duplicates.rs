//! Duplicates caught on the tablet before a resident is saved, and the
//! worker's statuses for people found (or not) at the door.

use serde_json::{Value, json};

use crate::support::{Cli, stderr};

fn enroll(cli: &Cli, v: &Value, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["enroll", "--json-out"];
    args.extend_from_slice(extra);
    cli.run_stdin(&args, &v.to_string())
}

fn enrolled(cli: &Cli, v: &Value) -> Value {
    let out = enroll(cli, v, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_likely_duplicate_is_refused_with_reasons_until_the_worker_checked() {
    let cli = Cli::init();
    let first = enrolled(
        &cli,
        &json!({"given_name": "Lakshmi", "family_name": "Devi", "sex": "female", "date_of_birth": "1975-04-10",
                "phone": "9811100001", "address": {"house": "7", "street": "Gali 2", "ward": 12}}),
    );
    let first_id = first["id"].as_str().unwrap();
    // The same woman, written in Hindi, with only her age known.
    let again = json!({"given_name": "लक्ष्मी", "family_name": "देवी", "sex": "female", "birth_year": 1976,
                       "address": {"house": "7", "street": "Gali 2", "ward": 12}});
    let out = enroll(&cli, &again, &[]);
    assert_eq!(out.status.code(), Some(9), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("may already be enrolled"), "{err}");
    assert!(err.contains(first_id), "the candidate is named: {err}");
    assert!(err.contains("--not-duplicate-of"), "says what to do next: {err}");
    assert_eq!(cli.residents(), 1, "nothing was saved");
    // The same check, in Hindi.
    let out = cli.run_stdin(&["--lang", "hi", "enroll"], &again.to_string());
    assert_eq!(out.status.code(), Some(9));
    assert!(stderr(&out).contains("पहले से नामांकित"), "{}", stderr(&out));

    // A different person at the same address is not a duplicate.
    enrolled(
        &cli,
        &json!({"given_name": "Suresh", "family_name": "Kumar", "sex": "male", "birth_year": 1970,
                "phone": "9811100001", "address": {"house": "7", "street": "Gali 2", "ward": 12}}),
    );
    // The worker checked: it is another Lakshmi. Naming the candidate saves.
    let out = enroll(&cli, &again, &["--not-duplicate-of", first_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(cli.residents(), 3);
    // Naming something that is not on the device is an error, not a pass.
    let out = enroll(&cli, &again, &["--not-duplicate-of", "0190d5b0-0000-7000-8000-000000000000"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn same_voter_id_or_a_typo_in_the_name_are_caught() {
    let cli = Cli::init();
    let first = enrolled(
        &cli,
        &json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
                "voter_id": "DLX1234567", "address": {"ward": 12}}),
    );
    let first_id = first["id"].as_str().unwrap();
    for (label, v) in [
        (
            "same voter id",
            json!({"given_name": "Iqbal", "sex": "male", "birth_year": 1983, "voter_id": "DLX1234567",
                   "address": {"ward": 12}}),
        ),
        (
            "variant spelling",
            json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
                   "address": {"ward": 12}}),
        ),
        (
            "typo",
            json!({"given_name": "Mohammad", "family_name": "Iqbla", "sex": "male", "birth_year": 1980,
                   "address": {"ward": 12}}),
        ),
    ] {
        let out = enroll(&cli, &v, &[]);
        assert_eq!(out.status.code(), Some(9), "{label}: {}", stderr(&out));
        assert!(stderr(&out).contains(first_id), "{label}");
    }
    assert_eq!(cli.residents(), 1);
}

#[test]
fn confirm_and_mark_residents_found_or_not_at_the_door() {
    let cli = Cli::init();
    let a = enrolled(
        &cli,
        &json!({"given_name": "Ramesh", "family_name": "Yadav", "sex": "male", "birth_year": 1960,
                "status": "unverified", "address": {"house": "3", "street": "Gali 9", "ward": 12}}),
    );
    let household = a["household_id"].as_str().unwrap().to_string();
    let b = enrolled(
        &cli,
        &json!({"given_name": "Kamla", "family_name": "Yadav", "sex": "female", "birth_year": 1962,
                "status": "unverified", "household_id": household, "relation_to_head": "spouse",
                "address": {"house": "3", "street": "Gali 9", "ward": 12}}),
    );
    let rows = cli.json(&["households", "--ward", "12", "--json"]);
    assert_eq!(rows[0]["unverified"], 2);
    let (a_id, b_id) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let out = cli.ok(&["confirm", a["health_id"].as_str().unwrap()]);
    assert!(out.contains("verified"), "{out}");
    cli.ok(&["mark", b_id, "deceased"]);
    assert_eq!(cli.json(&["show", a_id, "--json"])["status"], "verified");
    assert_eq!(cli.json(&["show", b_id, "--json"])["status"], "deceased");
    let members = cli.json(&["household", &household, "--json"]);
    let statuses: Vec<&str> =
        members["members"].as_array().unwrap().iter().map(|m| m["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["verified", "deceased"]);
    assert_eq!(cli.json(&["households", "--ward", "12", "--json"])[0]["unverified"], 0);
    // Bad input changes nothing.
    let out = cli.run(&["mark", a_id, "vanished"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = cli.run(&["confirm", &household]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("not a resident"), "{}", stderr(&out));
    assert_eq!(cli.json(&["show", a_id, "--json"])["status"], "verified");
    let stats = cli.json(&["stats", "--json"]);
    assert_eq!(stats["by_status"], json!({"deceased": 1, "verified": 1}));
}
