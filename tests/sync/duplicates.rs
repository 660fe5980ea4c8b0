//! Duplicates in the registry: the same person enrolled offline on two
//! tablets (and in another ward) is found after sync, and every resolution
//! path works end to end: merge (with field conflicts and an alias for the
//! old eHealth ID), not-a-duplicate, and undo — each reaching the tablets.

use serde_json::{Value, json};

use crate::both;
use crate::support::{Backend, Server, Tablet};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn pending(server: &Server) -> Vec<Value> {
    server.admin_json(&["duplicates", "--json"]).as_array().unwrap().clone()
}

fn pair_of<'a>(pairs: &'a [Value], x: &str, y: &str) -> Option<&'a Value> {
    pairs.iter().find(|p| (p["a"] == x && p["b"] == y) || (p["a"] == y && p["b"] == x))
}

both!(same_person_on_two_tablets_is_found_merged_and_unmerged);
fn same_person_on_two_tablets_is_found_merged_and_unmerged(backend: std::sync::Arc<Backend>) {
    let server = Server::start(backend);
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let c = Tablet::provision(&server, "131", "tablet C");
    // Offline, neither tablet knows the other enrolled him.
    let first = a.json(&[
        "enroll",
        "--json-out",
        &json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "date_of_birth": "1980-03-02",
                "voter_id": "DLX1234567", "blood_group": "B+",
                "address": {"house": "14", "street": "Gali 3", "ward": 12}})
        .to_string(),
    ]);
    let second = b.json(&[
        "enroll",
        "--json-out",
        &json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
                "phone": "9876500011", "blood_group": "O+",
                "address": {"house": "14", "street": "Gali 3", "ward": 12}})
        .to_string(),
    ]);
    // Someone else entirely, to show the queue is not everyone.
    b.json(&[
        "enroll",
        "--json-out",
        &json!({"given_name": "Sunita", "family_name": "Sharma", "sex": "female", "birth_year": 1990,
                "address": {"ward": 12}})
        .to_string(),
    ]);
    // The same man at a centre in another ward, in Hindi, with his voter id.
    let third = c.json(&[
        "enroll",
        "--json-out",
        &json!({"given_name": "मोहम्मद", "family_name": "इकबाल", "sex": "male", "birth_year": 1980,
                "voter_id": "DLX1234567", "address": {"ward": 131}})
        .to_string(),
    ]);
    let (s_id, d_id, x_id) =
        (first["id"].as_str().unwrap(), second["id"].as_str().unwrap(), third["id"].as_str().unwrap());
    let d_health = second["health_id"].as_str().unwrap().to_string();
    // A card printed with the duplicate's eHealth ID before anyone noticed.
    let pdf = b.dir.path().join("old-card.pdf");
    b.ok(&["card", &d_health, "--out", pdf.to_str().unwrap()]);
    for t in [&a, &b, &c] {
        t.sync();
    }

    // Found after the merge of synced changes, across wards, with reasons.
    let pairs = pending(&server);
    assert_eq!(pairs.len(), 2, "{pairs:#?}");
    let p = pair_of(&pairs, s_id, d_id).expect("the two ward 12 records are a pair");
    let codes: Vec<&str> = p["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect();
    assert!(codes.contains(&"similar_name"), "{codes:?}");
    assert!(pair_of(&pairs, s_id, x_id).is_some(), "same voter id across wards");
    let out = server.admin(&["duplicates"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Iqbal"), "the table names them");

    // Bad input changes nothing.
    for args in [
        vec!["merge", s_id, s_id],
        vec!["merge", s_id, "0190d5b0-0000-7000-8000-000000000000"],
        vec!["not-duplicate", s_id, "nonsense"],
    ] {
        let out = server.admin(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(!stderr(&out).is_empty());
    }
    assert_eq!(pending(&server).len(), 2);

    // Not a duplicate (the reviewer found the centre mistyped the voter id):
    // the pair leaves the queue and a rescan does not bring it back.
    let out = server.admin(&["not-duplicate", s_id, x_id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(pair_of(&pending(&server), s_id, x_id).is_none());
    let scan = server.admin_json(&["duplicates", "--rescan", "--json"]);
    assert!(pair_of(scan.as_array().unwrap(), s_id, x_id).is_none(), "{scan:#?}");
    assert!(pair_of(scan.as_array().unwrap(), s_id, d_id).is_some(), "{scan:#?}");

    // Merge: the survivor takes the phone, keeps both blood groups as a conflict.
    let merged = server.admin_json(&["merge", s_id, d_id, "--json"]);
    assert_eq!(merged["survivor"], s_id);
    let out = server.admin(&["merge", s_id, d_id]);
    assert!(!out.status.success(), "merging twice is refused");
    assert!(pair_of(&pending(&server), s_id, d_id).is_none());
    for t in [&a, &b] {
        t.sync();
        let shown = t.json(&["show", s_id, "--json"]);
        assert_eq!(shown["phone"], "9876500011");
        let conflicts = shown["conflicts"].as_array().unwrap();
        let bg = conflicts.iter().find(|c| c["field"] == "blood_group").expect("blood group conflict");
        assert_eq!(bg["values"].as_array().unwrap().len(), 2);
        // The old eHealth ID resolves to the survivor.
        assert_eq!(t.json(&["show", &d_health, "--json"])["id"], s_id);
        let hits = t.json(&["search", &d_health, "--json"]);
        assert_eq!(hits[0]["id"], s_id);
        assert_eq!(t.json(&["stats", "--json"])["merged"], 1);
    }
    let out = b.ok(&["show", &d_health]);
    assert!(out.contains("merged into this record"), "{out}");
    // The card printed with the old ID still verifies and names the old ID.
    let out = a.run(&["verify", pdf.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["card"]["health_id"], d_health.as_str());
    assert_eq!(a.json(&["show", v["card"]["health_id"].as_str().unwrap(), "--json"])["id"], s_id);
    // The registry resolves it too.
    let r = server.admin_json(&["resolve", &d_health, "--json"]);
    assert_eq!(r["record_id"], d_id);
    assert_eq!(r["current_id"], s_id);

    // Undo (administrator): both stand alone again on every tablet.
    let undone = server.admin_json(&["unmerge", d_id, "--json"]);
    assert_eq!(undone["merge"]["survivor"], s_id);
    for t in [&a, &b] {
        t.sync();
        assert_eq!(t.json(&["show", &d_health, "--json"])["id"], d_id);
        let s = t.json(&["show", s_id, "--json"]);
        assert!(s.get("phone").is_none(), "the phone taken in the merge is given back: {s}");
        assert!(s["conflicts"].as_array().unwrap().is_empty(), "{s}");
        assert_eq!(s["blood_group"], "B+");
    }
    let out = server.admin(&["unmerge", d_id]);
    assert!(!out.status.success(), "nothing left to undo");

    // Every decision is in the audit log.
    let log = server.admin_json(&["audit", "--json"]);
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for a in ["not_duplicate", "merge", "unmerge"] {
        assert!(actions.contains(&a), "{actions:?}");
    }
}
