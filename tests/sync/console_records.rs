//! The console's search and record view, on both stores, against the real
//! server binary and real tablets: search by every kind of query (names in
//! both scripts, eHealth ID — a merged-away one lands on the survivor —,
//! phone, voter id, ward), data shown as text (never as HTML), and field
//! conflicts settled in the console reaching the tablets; a stale, invalid
//! or forbidden resolution changes nothing.

use std::process::Command;

use serde_json::{Value, json};

use crate::both;
use crate::support::{Backend, Server, Tablet, bin};

/// A browser on the console: its session cookie and the page's CSRF token.
struct Browser {
    base: String,
    agent: ureq::Agent,
    cookie: String,
    csrf: String,
}

struct Page {
    status: u16,
    location: String,
    body: String,
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn answer(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (Page, Vec<String>) {
    let mut resp = resp.unwrap();
    let cookies = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|s| s.split(';').next().unwrap_or("").to_string())
        .collect();
    let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let status = resp.status().as_u16();
    (Page { status, location, body: resp.body_mut().read_to_string().unwrap_or_default() }, cookies)
}

impl Browser {
    fn sign_in(server: &Server, name: &str, password: &str, lang: &str) -> Browser {
        let cfg = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build();
        let agent = ureq::Agent::new_with_config(cfg);
        let base = server.url();
        let (page, cookies) = answer(agent.get(format!("{base}/console/login")).call());
        assert_eq!(page.status, 200);
        let login = cookies.iter().find(|c| c.starts_with("ehcard_login=")).unwrap().clone();
        let token = login.trim_start_matches("ehcard_login=").to_string();
        let (page, cookies) = answer(
            agent
                .post(format!("{base}/console/login"))
                .header("cookie", &login)
                .header("content-type", "application/x-www-form-urlencoded")
                .send(form_encode(&[("csrf", &token), ("name", name), ("password", password), ("next", "/console")])),
        );
        assert_eq!(page.status, 303, "{name} signs in: {}", page.body);
        let session = cookies.iter().find(|c| c.starts_with("ehcard_session=")).unwrap().clone();
        let mut b = Browser { base, agent, cookie: format!("{session}; ehcard_lang={lang}"), csrf: String::new() };
        let home = b.get("/console/search");
        b.csrf = home.body.split("data-csrf=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
        b
    }

    fn get(&self, path: &str) -> Page {
        answer(self.agent.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).call()).0
    }

    fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(form);
        answer(
            self.agent
                .post(format!("{}{path}", self.base))
                .header("cookie", &self.cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .send(form_encode(&all)),
        )
        .0
    }

    fn search(&self, q: &str) -> Page {
        self.get(&format!("/console/search?q={}", enc(q)))
    }
}

fn add_staff(server: &Server, name: &str, role: &str) {
    let out = Command::new(bin("ehcard-server"))
        .arg("--db")
        .arg(server.backend.url())
        .args(["user", "add", name, "--role", role])
        .env("EHCARD_PASSWORD", format!("{name} password 1234"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// What a refused request must leave alone.
fn snapshot(server: &Server) -> String {
    let stats = server.stats();
    let audit = server.admin_json(&["audit", "--json"]);
    let audit: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["action"].as_str().unwrap().starts_with("console.sign"))
        .collect();
    format!("{stats}\n{audit:?}")
}

fn enroll(t: &Tablet, v: Value) -> Value {
    t.json(&["enroll", "--json-out", &v.to_string()])
}

/// The hidden `heads` of a record page's resolve form.
fn heads_of(body: &str) -> String {
    body.split("name=\"heads\" value=\"").nth(1).and_then(|s| s.split('"').next()).expect("a resolve form").to_string()
}

both!(console_records_search_show_and_settle_conflicts);
fn console_records_search_show_and_settle_conflicts(backend: std::sync::Arc<Backend>) {
    let server = Server::start(backend);
    add_staff(&server, "ravi", "reviewer");
    add_staff(&server, "vera", "viewer");
    let roll = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/samples/roll.csv");
    let out = server.admin(&["import-roll", roll]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = Tablet::provision(&server, "12", "Ward 12 tablet A");
    let b = Tablet::provision(&server, "12", "Ward 12 tablet B");
    let sunita = enroll(
        &a,
        json!({"given_name": "Sunita", "family_name": "Sharma", "name_hi": "सुनीता शर्मा", "sex": "female",
               "birth_year": 1990, "phone": "9811100001", "voter_id": "DLS7654321",
               "address": {"house": "7", "street": "Main Road", "ward": 12}}),
    );
    let evil = enroll(
        &a,
        json!({"given_name": "<script>alert(1)</script>", "family_name": "Robert'); DROP TABLE residents;--",
               "sex": "male", "birth_year": 1970, "phone": "9811100099", "address": {"ward": 12}}),
    );
    let first = enroll(
        &a,
        json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "date_of_birth": "1980-03-02",
               "voter_id": "DLX1234567", "address": {"house": "14", "street": "Gali 3", "ward": 12}}),
    );
    let second = enroll(
        &b,
        json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
               "phone": "9876500011", "address": {"house": "14", "street": "Gali 3", "ward": 12}}),
    );
    let id = sunita["id"].as_str().unwrap().to_string();
    a.sync();
    b.sync();
    // Both tablets correct her phone before they sync: a conflict.
    a.ok(&["edit", &id, "--set", "phone=9811100002"]);
    b.ok(&["edit", &id, "--set", "phone=9811100003"]);
    a.sync();
    b.sync();
    a.sync();
    let (s_id, d_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let merged = server.admin(&["merge", s_id, d_id]);
    assert!(merged.status.success(), "{}", String::from_utf8_lossy(&merged.stderr));

    let ravi = Browser::sign_in(&server, "ravi", "ravi password 1234", "en");
    let vera = Browser::sign_in(&server, "vera", "vera password 1234", "en");
    let link = format!("/console/records/{id}");

    // Every kind of query finds her.
    for q in ["sunita", "SUN", "sharma", "Sunita Sha", "सुनी", "सुनीता शर्मा", "शर्मा", "dls7654321", "DLS76"]
    {
        let p = ravi.search(q);
        assert_eq!(p.status, 200, "{q}: {}", p.body);
        assert!(p.body.contains(&link), "searching {q:?} finds Sunita");
    }
    // Roll residents: given and family name, and a two-word query.
    let p = ravi.search("ram sharma");
    assert!(p.body.contains("Ram Prasad") && p.body.contains("राम प्रसाद शर्मा"), "{}", p.body);
    let ram = p.body.split("href=\"/console/records/").nth(1).and_then(|s| s.split('"').next()).unwrap();
    let p = ravi.get(&format!("/console/records/{ram}"));
    assert!(p.body.contains("Electoral roll import") && p.body.contains("Unverified"), "{}", p.body);
    assert!(!ravi.search("zzzz").body.contains("/console/records/"), "nothing matches");
    // Phone, eHealth ID (spaced or not), record id: straight to the record.
    let p = ravi.search("98111 00099");
    assert!(p.body.contains(&format!("/console/records/{}", evil["id"].as_str().unwrap())));
    let hid = sunita["health_id"].as_str().unwrap();
    for q in [hid.to_string(), hid.replace(' ', ""), id.clone()] {
        let p = ravi.search(&q);
        assert_eq!(p.status, 303, "{q}");
        assert!(p.location.starts_with(&link), "{q} → {}", p.location);
    }
    // A merged-away eHealth ID lands on the survivor, which says so.
    let d_hid = second["health_id"].as_str().unwrap();
    let p = ravi.search(d_hid);
    assert_eq!(p.status, 303);
    assert!(p.location.starts_with(&format!("/console/records/{s_id}")), "{}", p.location);
    let p = ravi.get(&p.location);
    assert!(p.body.contains("merged into this one"), "{}", p.body);
    assert!(p.body.contains("Registry: merge of duplicates"), "the history shows the merge");
    // The merged-away record is listed as such, with the way to the survivor.
    let p = ravi.search("mohd");
    assert!(p.body.contains("Merged") && p.body.contains(&format!("/console/records/{s_id}")), "{}", p.body);
    let p = ravi.get(&format!("/console/records/{d_id}"));
    assert!(p.body.contains("Open the surviving record"), "{}", p.body);
    // A ward's list, paged; bad filters are refused.
    let p = ravi.get("/console/search?ward=12");
    assert!(p.body.contains(&link) && p.body.contains("Ram Prasad"));
    assert_eq!(ravi.get("/console/search?ward=999").status, 422);
    assert_eq!(ravi.get("/console/search?q=x&page=0").status, 422);
    assert_eq!(ravi.get("/console/records/not-a-record").status, 422);
    assert_eq!(ravi.get("/console/records/01a0c450-6c00-7699-b7ca-ad8d6837074f").status, 404);

    // HTML and SQL in data are text.
    let evil_link = format!("/console/records/{}", evil["id"].as_str().unwrap());
    for page in [ravi.search("robert"), ravi.search("<script>"), ravi.get(&evil_link)] {
        assert_eq!(page.status, 200);
        assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.body);
        assert!(!page.body.contains("<script>alert(1)"), "the tag is escaped");
        assert!(page.body.contains("Robert'); DROP TABLE residents;--"));
    }
    assert!(server.stats()["residents"].as_i64().unwrap() > 10, "the residents table is still there");

    // The record: both values with their tablets; a viewer gets no form.
    let p = vera.get(&link);
    assert_eq!(p.status, 200);
    for s in ["9811100002", "9811100003", "Ward 12 tablet A", "Ward 12 tablet B", "Field conflicts", "History"] {
        assert!(p.body.contains(s), "the record page shows {s}");
    }
    assert!(!p.body.contains("/resolve\""), "a viewer gets no resolve form");
    // A viewer's forged resolution is refused and changes nothing.
    let heads = heads_of(&ravi.get(&link).body);
    let before = snapshot(&server);
    let resolve = format!("{link}/resolve");
    let p = vera.post(&resolve, &[("heads", &heads), ("field", "phone"), ("choice", "\"9811100002\"")]);
    assert_eq!(p.status, 403);
    // Stale, invalid, incomplete or nonsensical: refused, nothing changes.
    let p = ravi.post(&resolve, &[("heads", "00"), ("field", "phone"), ("choice", "\"9811100002\"")]);
    assert_eq!(p.status, 409, "stale: {}", p.body);
    assert!(p.body.contains("changed while you were looking"));
    let p = ravi.post(&resolve, &[("heads", &heads), ("field", "phone"), ("choice", "other"), ("other", "12345")]);
    assert_eq!(p.status, 422);
    assert!(p.body.contains("10 digits starting with 6-9"), "{}", p.body);
    let hindi = Browser::sign_in(&server, "ravi", "ravi password 1234", "hi");
    let p = hindi.post(&resolve, &[("heads", &heads), ("field", "phone"), ("choice", "other"), ("other", "12345")]);
    assert_eq!(p.status, 422);
    assert!(p.body.contains("6-9 से शुरू होने वाले 10 अंक"), "{}", p.body);
    for form in [
        vec![("heads", heads.as_str()), ("field", "phone")],
        vec![("heads", heads.as_str()), ("field", "phone"), ("choice", "other"), ("other", "  ")],
        vec![("heads", heads.as_str()), ("field", "no_such_field"), ("choice", "\"x\"")],
        vec![("heads", heads.as_str()), ("field", "given_name"), ("choice", "\"Sunita\"")],
        vec![("heads", heads.as_str()), ("field", "phone"), ("choice", "{not json")],
        vec![],
    ] {
        let p = ravi.post(&resolve, &form);
        assert!([409, 422].contains(&p.status), "{form:?}: {} {}", p.status, p.body);
    }
    assert_eq!(snapshot(&server), before, "refused resolutions changed nothing");

    // The reviewer picks one: written once, audited, pulled by the tablets.
    let p = ravi.post(&resolve, &[("heads", &heads), ("field", "phone"), ("choice", "\"9811100003\"")]);
    assert_eq!(p.status, 303, "{}", p.body);
    assert_eq!(p.location, format!("{link}?resolved=phone"));
    let p = ravi.get(&p.location);
    assert!(p.body.contains("Conflict settled"));
    assert!(!p.body.contains("Field conflicts"), "no conflict left");
    assert!(p.body.contains("Registry console") && p.body.contains("ravi"), "the history shows the resolution");
    // The same form again is stale now.
    let p = ravi.post(&resolve, &[("heads", &heads), ("field", "phone"), ("choice", "\"9811100002\"")]);
    assert_eq!(p.status, 409);
    let log = server.admin_json(&["audit", "--json"]);
    let settled: Vec<&Value> =
        log.as_array().unwrap().iter().filter(|e| e["action"] == "console.resolve_conflict").collect();
    assert_eq!(settled.len(), 1);
    assert_eq!(settled[0]["actor"], "ravi");
    assert_eq!(settled[0]["subject"], id.as_str());
    for t in [&a, &b] {
        t.sync();
        let shown = t.json(&["show", &id, "--json"]);
        assert_eq!(shown["phone"], "9811100003", "{shown}");
        assert!(shown["conflicts"].as_array().unwrap().is_empty(), "{shown}");
    }
    // The search shows her without the conflicts badge, by the chosen phone.
    let p = ravi.search("9811100003");
    assert!(p.body.contains(&link));
}
