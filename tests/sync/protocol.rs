//! The protocol on both stores: merging, idempotence, and refusing bad or
//! unauthorised requests without changing anything.

use std::sync::Arc;

use serde_json::json;

use crate::both;
use crate::support::{Backend, RawTablet, Server, Tablet, count, push_body, resident, resident_doc};

/// Two tablets edit the same record offline: different fields merge, the
/// same field shows both values in `conflicts` on every side.
fn two_tablets_merge_and_keep_conflicts(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let enrolled = a.json(&["enroll", "--json-out", &resident(1, 12).to_string()]);
    let id = enrolled["id"].as_str().unwrap().to_string();
    assert!(a.ok(&["show", &id]).contains("local only"));
    let s = a.sync();
    assert_eq!(s["complete"], true);
    assert_eq!(s["merged"], 2, "the resident and the household: {s}");
    assert!(a.ok(&["show", &id]).contains("merged by the server"));
    let s = b.sync();
    assert_eq!(s["created"], 2, "{s}");
    assert_eq!(b.json(&["show", &id, "--json"])["given_name"], "Person1");

    // Offline edits on both tablets.
    a.ok(&["edit", &id, "--set", "phone=9111111111", "--set", "blood_group=B+"]);
    b.ok(&["edit", &id, "--set", "address.street=New Street", "--set", "blood_group=O-"]);
    assert!(a.ok(&["show", &id]).contains("changed since the last sync"));
    a.sync();
    b.sync();
    a.sync();
    let ra = a.json(&["show", &id, "--json"]);
    let rb = b.json(&["show", &id, "--json"]);
    assert_eq!(ra, rb, "the tablets disagree after sync");
    assert_eq!(ra["phone"], "9111111111");
    assert_eq!(ra["address"]["street"], "New Street");
    assert_eq!(ra["conflicts"].as_array().unwrap().len(), 1, "{}", ra["conflicts"]);
    assert_eq!(ra["conflicts"][0]["field"], "blood_group");
    let mut values: Vec<&str> =
        ra["conflicts"][0]["values"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    values.sort();
    assert_eq!(values, ["B+", "O-"]);
    assert_eq!(count(&server.stats(), "with_conflicts"), 1);
    // Nothing is left to send, and a second sync sends nothing.
    let s = a.sync();
    assert_eq!(s["pushed"], 0);
    assert_eq!(s["still_pending"], 0);
}
both!(two_tablets_merge_and_keep_conflicts);

/// The same batch pushed twice changes nothing the second time; a batch
/// of edits to the records it made rewrites their rows (the server writes
/// a batch's rows many to a statement: 70 is two full statements and a
/// remainder).
fn the_same_batch_twice_changes_nothing(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let raw = RawTablet::provision(&server, "12,13");
    let docs: Vec<_> = (0..70).map(|i| resident_doc(i, 12)).collect();
    let body = push_body(&docs);
    let first = raw.post_signed("/v1/sync/push", body.clone());
    assert_eq!(first.status, 200);
    let r: ehcard_sync::wire::PushResponse = ehcard_sync::codec::decode(&first.body).unwrap();
    assert!(r.results.iter().all(|x| x.status == ehcard_sync::wire::PushStatus::Merged));
    let mut before = server.stats();
    // Pushed again (a new signature, as a retrying tablet would send).
    let second = raw.post_signed("/v1/sync/push", body);
    assert_eq!(second.status, 200);
    let r: ehcard_sync::wire::PushResponse = ehcard_sync::codec::decode(&second.body).unwrap();
    assert!(r.results.iter().all(|x| x.status == ehcard_sync::wire::PushStatus::Unchanged));
    let mut after = server.stats();
    assert_eq!(count(&before, "residents"), 70);
    assert_eq!(before["residents_by_ward"], json!({"12": 70}));
    // A retry is still the tablet's contact: its last sync may move on a
    // second, and nothing else may change.
    let contact = |stats: &mut serde_json::Value| stats["devices"][0]["last_sync_at"].take().as_i64().unwrap();
    assert!(contact(&mut after) >= contact(&mut before));
    assert_eq!(after, before);

    // Every record moves to ward 13: each row is rewritten, none added.
    let ctx = ehcard_core::EditContext::new(chrono::Utc::now(), "raw");
    let moved: Vec<_> = docs
        .iter()
        .map(|(id, bytes)| {
            let mut doc = ehcard_core::doc::RecordDoc::load(bytes, &automerge::ActorId::from([7u8; 16])).unwrap();
            let edit = ehcard_core::doc::Edit::Set("address.ward", ehcard_core::model::FieldValue::Int(13));
            assert!(doc.apply(&[edit], &ctx).unwrap());
            (*id, doc.save())
        })
        .collect();
    let third = raw.post_signed("/v1/sync/push", push_body(&moved));
    assert_eq!(third.status, 200, "{}", String::from_utf8_lossy(&third.body));
    let r: ehcard_sync::wire::PushResponse = ehcard_sync::codec::decode(&third.body).unwrap();
    assert!(r.results.iter().all(|x| x.status == ehcard_sync::wire::PushStatus::Merged));
    let edited = server.stats();
    assert_eq!(count(&edited, "residents"), 70);
    assert_eq!(edited["residents_by_ward"], json!({"13": 70}));
    assert_eq!(count(&edited, "feed_entries"), count(&before, "feed_entries") + 70);
}
both!(the_same_batch_twice_changes_nothing);

/// Corrupt, truncated, forged, expired, replayed and unknown requests are
/// refused with a clear code and change nothing.
fn bad_requests_change_nothing(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let raw = RawTablet::provision(&server, "12");
    let docs = vec![resident_doc(1, 12)];
    let good = push_body(&docs);
    let before = server.stats();

    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let truncated = good[..good.len() / 2].to_vec();
    let not_json = ehcard_sync::codec::encode(&json!({"records": [{"id": 5}]}));
    // A small body that inflates past the limit (a "zip bomb").
    let bomb = ehcard_sync::codec::encode(&"0".repeat(65 * 1024 * 1024));
    assert!(bomb.len() < 1024 * 1024);
    for (what, body) in
        [("corrupted", flipped), ("truncated", truncated), ("not the push JSON", not_json), ("a zip bomb", bomb)]
    {
        let r = raw.post_signed("/v1/sync/push", body);
        assert_eq!(r.status, 400, "{what}");
        let e = r.error();
        assert_eq!(e.code, "malformed_body", "{what}");
        assert!(e.message.contains("nothing was changed"), "{what}: {}", e.message);
    }
    // A corrupted Automerge document inside a well-formed body.
    let mut bad_doc = docs[0].1.clone();
    bad_doc.truncate(bad_doc.len() - 7);
    let r = raw.post_signed("/v1/sync/push", push_body(&[(docs[0].0, bad_doc)]));
    assert_eq!(r.status, 422, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.error().code, "corrupt_record");

    // Forged: a valid body signed by another key.
    let other = ehcard_sync::auth::generate_key().unwrap();
    let now = chrono::Utc::now().timestamp();
    let forged = ehcard_sync::auth::sign(&other, &raw.device_id, "POST", "/v1/sync/push", now, &good).unwrap();
    let r = raw.post_with("/v1/sync/push", good.clone(), &forged.headers());
    assert_eq!((r.status, r.error().code.as_str()), (401, "bad_signature"));
    // Signed, then the body changed on the way.
    let (_, headers) = raw.post_signed_at(
        "/v1/sync/pull",
        ehcard_sync::codec::encode(&ehcard_sync::wire::PullRequest { cursor: 0, limit: 10 }),
        now,
    );
    let r = raw.post_with(
        "/v1/sync/pull",
        ehcard_sync::codec::encode(&ehcard_sync::wire::PullRequest { cursor: 5, limit: 10 }),
        &headers,
    );
    assert_eq!((r.status, r.error().code.as_str()), (401, "bad_signature"));
    // Expired: signed an hour ago; the answer carries the server's time.
    let (r, _) = raw.post_signed_at("/v1/sync/push", good.clone(), now - 3600);
    assert_eq!(r.status, 401);
    let e = r.error();
    assert_eq!(e.code, "request_expired");
    assert!(e.server_time.is_some_and(|t| (t - now).abs() < 60));
    // Replayed: exactly the same request twice.
    let body = ehcard_sync::codec::encode(&ehcard_sync::wire::PullRequest { cursor: 0, limit: 10 });
    let (r, headers) = raw.post_signed_at("/v1/sync/pull", body.clone(), now);
    assert_eq!(r.status, 200);
    let r = raw.post_with("/v1/sync/pull", body, &headers);
    assert_eq!((r.status, r.error().code.as_str()), (401, "replayed"));
    // Unsigned, and an unknown device.
    let r = raw.post_unsigned("/v1/sync/push", good.clone());
    assert_eq!((r.status, r.error().code.as_str()), (401, "unsigned"));
    let stranger = RawTablet {
        key: other,
        device_id: "01a0c450-6c00-7699-b7ca-ad8d6837074f".into(),
        agent: raw.agent.clone(),
        base: raw.base.clone(),
    };
    let r = stranger.post_signed("/v1/sync/push", good.clone());
    assert_eq!((r.status, r.error().code.as_str()), (401, "unknown_device"));
    // A used or unknown provisioning code.
    let r = raw.post_unsigned(
        "/v1/provision",
        ehcard_sync::codec::encode(&ehcard_sync::wire::ProvisionRequest {
            code: "AAAA-BBBB-CCCC-DDDD".into(),
            public_key: vec![0; 32],
        }),
    );
    assert_eq!((r.status, r.error().code.as_str()), (403, "unknown_code"));

    let after = server.stats();
    for key in ["residents", "households", "feed_entries", "with_conflicts"] {
        assert_eq!(before[key], after[key], "a refused request changed {key}");
    }
    assert_eq!(count(&after, "residents"), 0);
}
both!(bad_requests_change_nothing);

/// A tablet may push and pull only its own wards.
fn other_wards_are_refused_and_never_pulled(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let raw = RawTablet::provision(&server, "12");
    let before = server.stats();
    // One record of the batch is in ward 13: the whole batch is refused.
    let r = raw.post_signed("/v1/sync/push", push_body(&[resident_doc(1, 12), resident_doc(2, 13)]));
    assert_eq!(r.status, 403);
    let e = r.error();
    assert_eq!(e.code, "other_ward");
    assert!(e.message.contains("ward 13"), "{}", e.message);
    let after = server.stats();
    for key in ["residents", "households", "feed_entries"] {
        assert_eq!(before[key], after[key], "a refused batch changed {key}");
    }

    // The tablet refuses to enroll outside its wards in the first place.
    let a = Tablet::provision(&server, "12", "ward 12");
    let out = a.run(&["enroll", &resident(5, 13).to_string()]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("address.ward: is not one of this tablet's wards (12)"));

    // Ward 13's tablet never receives ward 12's records, nor can fetch them.
    a.ok(&["enroll", &resident(6, 12).to_string()]);
    a.sync();
    let c = Tablet::provision(&server, "13", "ward 13");
    let s = c.sync();
    assert_eq!(s["pulled"], 0, "{s}");
    assert_eq!(c.json(&["stats", "--json"])["residents"], 0);
    let raw13 = RawTablet::provision(&server, "13");
    let id = a.json(&["search", "Person6", "--json"])[0]["id"].as_str().unwrap().to_string();
    let path = format!("/v1/records/{id}");
    let signed =
        ehcard_sync::auth::sign(&raw13.key, &raw13.device_id, "GET", &path, chrono::Utc::now().timestamp(), &[])
            .unwrap();
    let mut req = raw13.agent.get(format!("{}{path}", raw13.base));
    for (k, v) in signed.headers() {
        req = req.header(k, v);
    }
    let resp = req.call().unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
both!(other_wards_are_refused_and_never_pulled);

/// A revoked tablet is told so, and keeps its unsent records.
fn a_revoked_tablet_is_refused_with_a_message(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let a = Tablet::provision(&server, "12", "lost tablet");
    a.ok(&["enroll", &resident(1, 12).to_string()]);
    let out = server.admin(&["device", "revoke", &a.device_id]);
    assert!(out.status.success());
    let out = a.run(&["sync"]);
    assert_eq!(out.status.code(), Some(6));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("revoked"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("complete"));
    assert_eq!(count(&server.stats(), "residents"), 0);
    assert_eq!(a.json(&["stats", "--json"])["residents"], 1, "the record stays on the tablet");
    let list = server.admin_json(&["device", "list", "--json"]);
    assert!(list.as_array().unwrap().iter().any(|d| d["id"] == a.device_id.as_str() && d["revoked_at"].is_i64()));
}
both!(a_revoked_tablet_is_refused_with_a_message);

/// The trust list names every provisioned tablet's key and the registry's,
/// marks revoked keys, and reaches tablets when they sync.
fn the_trust_list_names_every_tablet_and_its_revocation(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let s = a.sync();
    assert_eq!(s["trusted_keys"], 3, "the registry and two tablets: {s}");
    let out = server.admin(&["device", "revoke", &b.device_id]);
    assert!(out.status.success());
    let signed = server.admin_json(&["trust-list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(signed["list"].as_str().unwrap()).unwrap();
    let entries = list["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries.iter().filter(|e| e["role"] == "registry").count(), 1);
    let revoked: Vec<&serde_json::Value> = entries.iter().filter(|e| e["revoked_at"].is_i64()).collect();
    assert_eq!(revoked.len(), 1);
    assert!(revoked[0]["who"].as_str().unwrap().contains("tablet B"));
    // The registry's signature over the list checks out with its own key.
    let registry = entries.iter().find(|e| e["role"] == "registry").unwrap();
    let signed: ehcard_card::trust::SignedTrustList = serde_json::from_value(signed).unwrap();
    let pk = hex_decode(registry["public_key"].as_str().unwrap());
    assert!(signed.open(&pk).is_ok());
    assert_eq!(a.sync()["trusted_keys"], 3);
}
both!(the_trust_list_names_every_tablet_and_its_revocation);

fn hex_decode(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap()).collect()
}
