//! The console's review pages over HTTP, as staff of each role use them:
//! the duplicate queue (order, paging, merge with per-field choices that
//! tablets pull, refusals that change nothing, undo by an administrator
//! only, "different people"), and card approval with batch printing (the
//! approval rules, a forged approval refused, an A4 PDF whose QR codes
//! verify against the registry key).

use std::process::Command;

use serde_json::{Value, json};

use crate::both;
use crate::support::{Backend, Server, Tablet, bin};

/// A signed-in console session: cookies and the CSRF token by hand.
struct Console {
    agent: ureq::Agent,
    base: String,
    cookie: String,
    csrf: String,
}

struct Answer {
    status: u16,
    location: String,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build())
}

fn cookie_value(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn add_staff(server: &Server, name: &str, role: &str) {
    let out = Command::new(bin("ehcard-server"))
        .arg("--db")
        .arg(server.backend.url())
        .args(["user", "add", name, "--role", role])
        .env("EHCARD_PASSWORD", format!("{name}-password-1234"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

impl Console {
    fn sign_in(server: &Server, name: &str) -> Console {
        let agent = agent();
        let base = server.url();
        let mut resp = agent.get(format!("{base}/console/login")).call().unwrap();
        let login = cookie_value(&resp, "ehcard_login").unwrap();
        let _ = resp.body_mut().read_to_string().unwrap();
        let form = format!(
            "name={name}&password={name}-password-1234&csrf={}&next=%2Fconsole",
            login.replace('-', "%2D").replace('_', "%5F")
        );
        let resp = agent
            .post(format!("{base}/console/login"))
            .header("cookie", format!("ehcard_login={login}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .send(form)
            .unwrap();
        assert_eq!(resp.status().as_u16(), 303, "signing in as {name}");
        let session = cookie_value(&resp, "ehcard_session").unwrap();
        let mut c = Console { agent, base, cookie: format!("ehcard_session={session}"), csrf: String::new() };
        let page = c.get("/console/duplicates").text();
        c.csrf = between(&page, "data-csrf=\"", "\"").unwrap().to_string();
        c
    }

    fn get(&self, path: &str) -> Answer {
        let resp = self.agent.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).call().unwrap();
        answer(resp)
    }

    fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut body = vec![("csrf".to_string(), self.csrf.clone())];
        body.extend(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let encoded: String = body.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&");
        let resp = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .send(encoded)
            .unwrap();
        answer(resp)
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn answer(mut resp: ureq::http::Response<ureq::Body>) -> Answer {
    let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (location, content_type) = (header("location"), header("content-type"));
    let status = resp.status().as_u16();
    let body = resp.body_mut().with_config().limit(64 << 20).read_to_vec().unwrap();
    Answer { status, location, content_type, body }
}

fn pair_status(server: &Server, a: &str, b: &str) -> String {
    let all = server.admin_json(&["duplicates", "--status", "all", "--json"]);
    let p = all.as_array().unwrap().iter().find(|p| (p["a"] == a && p["b"] == b) || (p["a"] == b && p["b"] == a));
    p.map(|p| p["status"].as_str().unwrap().to_string()).unwrap_or_default()
}

fn ordered<'a>(x: &'a str, y: &'a str) -> (&'a str, &'a str) {
    if x < y { (x, y) } else { (y, x) }
}

fn enroll(t: &Tablet, v: Value) -> Value {
    t.json(&["enroll", "--json-out", &v.to_string()])
}

fn merges_in_audit(server: &Server) -> usize {
    let log = server.admin_json(&["audit", "--json"]);
    log.as_array().unwrap().iter().filter(|e| e["action"] == "merge").count()
}

both!(console_review_queue_merge_choose_undo);
fn console_review_queue_merge_choose_undo(backend: std::sync::Arc<Backend>) {
    let server = Server::start(backend);
    for (n, r) in [("admin", "admin"), ("reviewer", "reviewer"), ("viewer", "viewer")] {
        add_staff(&server, n, r);
    }
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let first = enroll(
        &a,
        json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "date_of_birth": "1980-03-02",
               "voter_id": "DLX1234567", "blood_group": "B+", "address": {"house": "14", "street": "Gali 3", "ward": 12}}),
    );
    let second = enroll(
        &b,
        json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "birth_year": 1980, "phone": "9876500011",
               "blood_group": "O+", "address": {"house": "14", "street": "Gali 3", "ward": 12}}),
    );
    // A stronger pair: the same voter id and date of birth.
    let r1 = enroll(
        &a,
        json!({"given_name": "Rajesh", "family_name": "Kumar", "sex": "male", "date_of_birth": "1975-06-01",
               "voter_id": "RJK7654321", "address": {"house": "3", "ward": 12}}),
    );
    let r2 = enroll(
        &b,
        json!({"given_name": "Rajesh", "family_name": "Kumar", "sex": "male", "date_of_birth": "1975-06-01",
               "voter_id": "RJK7654321", "address": {"house": "3", "ward": 12}}),
    );
    a.sync();
    b.sync();
    a.sync();
    server.admin_json(&["duplicates", "--json"]);
    let (s_id, d_id) = (first["id"].as_str().unwrap(), second["id"].as_str().unwrap());
    let (pa, pb) = ordered(s_id, d_id);
    assert_eq!(pair_status(&server, pa, pb), "pending");

    let reviewer = Console::sign_in(&server, "reviewer");
    let viewer = Console::sign_in(&server, "viewer");
    let admin = Console::sign_in(&server, "admin");

    // The queue: best score first, counted, paged; bad pages refused.
    let q = reviewer.get("/console/duplicates");
    assert_eq!(q.status, 200);
    let page = q.text();
    let raj = page.find("Rajesh Kumar").expect("the Rajesh pair is listed");
    let moh = page.find("Mohammad Iqbal").expect("the Iqbal pair is listed");
    assert!(raj < moh, "the stronger pair comes first");
    assert!(page.contains("<strong>2</strong> pairs waiting"), "{page}");
    assert!(!reviewer.get("/console/duplicates?page=2").text().contains("Rajesh Kumar"));
    for bad in ["/console/duplicates?page=0", "/console/duplicates?page=x", "/console/duplicates?ward=999"] {
        assert_eq!(reviewer.get(bad).status, 422, "{bad}");
    }
    let ward9 = reviewer.get("/console/duplicates?ward=9").text();
    assert!(!ward9.contains("Rajesh") && ward9.contains("No pairs are waiting"));
    let pair_path = format!("/console/duplicates/{pa}/{pb}");
    let p = reviewer.get(&pair_path).text();
    assert!(p.contains("Similar name") && p.contains("data-field=\"blood_group\""), "{p}");
    assert_eq!(reviewer.get("/console/duplicates/not-an-id/x").status, 422);

    // A viewer sees the pair but cannot merge: 403, nothing changes.
    assert!(!viewer.get(&pair_path).text().contains("data-key=\"m\""));
    let r = viewer.post(&format!("{pair_path}/merge"), &[("survivor", s_id)]);
    assert_eq!(r.status, 403);
    // A survivor outside the pair is refused.
    let r = reviewer.post(&format!("{pair_path}/merge"), &[("survivor", r1["id"].as_str().unwrap())]);
    assert_eq!(r.status, 422);
    assert_eq!(pair_status(&server, pa, pb), "pending");
    assert_eq!(merges_in_audit(&server), 0);

    // Merge, keeping Mohammad but Mohd's blood group.
    let keep_bg = ("keep.blood_group", d_id);
    let r = reviewer.post(&format!("{pair_path}/merge"), &[("survivor", s_id), keep_bg, ("keep.given_name", s_id)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.location.contains("done=merged"), "{}", r.location);
    // On to the next pending pair: the Rajesh pair.
    let (ra, rb) = ordered(r1["id"].as_str().unwrap(), r2["id"].as_str().unwrap());
    assert!(r.location.starts_with(&format!("/console/duplicates/{ra}/{rb}")), "{}", r.location);
    assert!(reviewer.get(&r.location).text().contains("Merged Mohd Iqbal into Mohammad Iqbal"));
    assert_eq!(pair_status(&server, pa, pb), "merged");

    // The chosen values are not conflicts, and tablets pull them.
    a.sync();
    let kept = a.json(&["show", s_id, "--json"]);
    assert_eq!(kept["blood_group"], "O+");
    assert_eq!(kept["given_name"], "Mohammad");
    assert_eq!(kept["phone"], "9876500011", "taken from the duplicate");
    assert!(kept["conflicts"].as_array().unwrap().is_empty(), "{}", kept["conflicts"]);
    b.sync();
    assert_eq!(b.json(&["show", d_id, "--json"])["merged_into"], s_id);

    // Deciding it again (a stale page) is refused; nothing changes.
    let r = reviewer.post(&format!("{pair_path}/merge"), &[("survivor", s_id)]);
    assert_eq!(r.status, 422);
    assert!(r.text().contains("already decided"), "{}", r.text());
    let r = reviewer.post(&format!("{pair_path}/not-duplicate"), &[]);
    assert_eq!(r.status, 422);
    assert_eq!(pair_status(&server, pa, pb), "merged");
    assert_eq!(merges_in_audit(&server), 1);

    // Recent merges: everyone sees them; only an administrator may undo.
    let m = reviewer.get("/console/merges").text();
    assert!(m.contains("Mohd Iqbal") && !m.contains("/undo"));
    assert!(admin.get("/console/merges").text().contains(&format!("/console/merges/{d_id}/undo")));
    let r = reviewer.post(&format!("/console/merges/{d_id}/undo"), &[]);
    assert_eq!(r.status, 403);
    assert_eq!(pair_status(&server, pa, pb), "merged");
    let r = admin.post(&format!("/console/merges/{d_id}/undo"), &[]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(r.location.contains("done=undone"));
    let notice = admin.get(&r.location).text();
    assert!(notice.contains("Undid the merge"), "{notice}");
    assert!(notice.contains("Blood group"), "the chosen value is reported as left: {notice}");
    assert_eq!(pair_status(&server, pa, pb), "pending");
    let r = admin.post(&format!("/console/merges/{d_id}/undo"), &[]);
    assert_eq!(r.status, 422, "a second undo is refused");

    // Then: different people.
    let r = reviewer.post(&format!("{pair_path}/not-duplicate"), &[]);
    assert_eq!(r.status, 303);
    assert_eq!(pair_status(&server, pa, pb), "not_duplicate");
    b.sync();
    assert!(b.json(&["show", d_id, "--json"]).get("merged_into").is_none_or(Value::is_null));
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

both!(console_review_approval_and_printing);
fn console_review_approval_and_printing(backend: std::sync::Arc<Backend>) {
    let server = Server::start(backend);
    add_staff(&server, "reviewer", "reviewer");
    add_staff(&server, "viewer", "viewer");
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let kavita = enroll(
        &a,
        json!({"given_name": "Kavita", "family_name": "Rao", "name_hi": "कविता राव", "sex": "female", "birth_year": 1985,
               "address": {"house": "22", "street": "Main Road", "ward": 12}}),
    );
    let sunita = enroll(
        &a,
        json!({"given_name": "Sunita", "family_name": "Sharma", "sex": "female", "birth_year": 1990,
               "phone": "9811100001", "address": {"ward": 12}}),
    );
    let m1 = enroll(
        &a,
        json!({"given_name": "Mohammad", "family_name": "Iqbal", "sex": "male", "date_of_birth": "1980-03-02",
               "voter_id": "DLX1234567", "address": {"house": "14", "ward": 12}}),
    );
    enroll(
        &b,
        json!({"given_name": "Mohd", "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
               "address": {"house": "14", "ward": 12}}),
    );
    a.sync();
    b.sync();
    let s_id = sunita["id"].as_str().unwrap();
    a.ok(&["edit", s_id, "--set", "phone=9811100002"]);
    b.ok(&["edit", s_id, "--set", "phone=9811100003"]);
    a.sync();
    b.sync();
    server.admin_json(&["duplicates", "--json"]);
    let (k_id, m_id) = (kavita["id"].as_str().unwrap(), m1["id"].as_str().unwrap());

    let reviewer = Console::sign_in(&server, "reviewer");
    let viewer = Console::sign_in(&server, "viewer");
    let ready = reviewer.get("/console/approvals?ward=12").text();
    assert!(ready.contains(k_id), "Kavita is ready");
    assert!(!ready.contains(s_id), "a record in conflict is not offered");
    assert!(!ready.contains(m_id), "a record in a pending pair is not offered");
    assert!(!reviewer.get("/console/approvals?ward=13").text().contains(k_id));
    assert_eq!(reviewer.get("/console/approvals?tab=nope").status, 422);

    // Forged approvals are refused, all or nothing.
    for (who, ids, status) in [
        (&reviewer, vec![s_id], 422),
        (&reviewer, vec![m_id], 422),
        (&reviewer, vec![k_id, s_id], 422),
        (&reviewer, vec!["not-an-id"], 422),
        (&reviewer, vec![], 422),
        (&viewer, vec![k_id], 403),
    ] {
        let fields: Vec<(&str, &str)> = ids.iter().map(|i| ("id", *i)).collect();
        assert_eq!(who.post("/console/approvals/approve", &fields).status, status, "{ids:?}");
    }
    assert!(!reviewer.get("/console/approvals?tab=approved").text().contains(k_id), "nothing was approved");
    let log = server.admin_json(&["audit", "--json"]);
    assert!(!log.as_array().unwrap().iter().any(|e| e["action"] == "console.approve"));

    let r = reviewer.post("/console/approvals/approve", &[("id", k_id)]);
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(reviewer.get("/console/approvals?tab=approved").text().contains(k_id));
    assert!(!reviewer.get("/console/approvals").text().contains(k_id), "no longer among the ready");
    assert_eq!(reviewer.post("/console/approvals/approve", &[("id", k_id)]).status, 422, "approved twice");
    // Printing what is not approved is refused.
    assert_eq!(reviewer.post("/console/approvals/print", &[("id", m_id)]).status, 422);
    assert_eq!(viewer.post("/console/approvals/print", &[("all", "1")]).status, 403);

    // Print: an A4 PDF of permanent cards; the QR verifies against the registry key.
    let r = reviewer.post("/console/approvals/print", &[("all", "1"), ("ward", "12")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type, "application/pdf");
    assert!(r.body.starts_with(b"%PDF-"));
    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("batch.pdf");
    std::fs::write(&pdf, &r.body).unwrap();
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("595.276 x 841.89"), "A4");
    let prefix = dir.path().join("scan");
    assert!(Command::new("pdftoppm").args(["-r", "150", "-png"]).arg(&pdf).arg(&prefix).status().unwrap().success());
    let zbar = Command::new("zbarimg")
        .args(["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable"])
        .arg(dir.path().join("scan-2.png"))
        .output()
        .unwrap();
    let text = String::from_utf8(zbar.stdout).unwrap().trim().to_string();
    assert!(text.len() > 100, "a QR code on the back sheet");
    let signed = server.admin_json(&["trust-list", "--json"]);
    let list: Value = serde_json::from_str(signed["list"].as_str().unwrap()).unwrap();
    let registry = list["entries"].as_array().unwrap().iter().find(|e| e["role"] == "registry").unwrap();
    let public = unhex(registry["public_key"].as_str().unwrap());
    let decoded = ehcard_card::payload::decode(&text).unwrap();
    assert!(ehcard_card::cose::verify(&decoded.sign1, &public), "signed by the registry key");
    assert_eq!(decoded.issue.kind, ehcard_card::CardKind::Permanent);
    assert_eq!(decoded.card.health_id, kavita["health_id"].as_str().unwrap());
    let out = b.run(&["verify", &text, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // Marked printed, audited; printed again from the printed list.
    let printed = reviewer.get("/console/approvals?tab=printed").text();
    assert!(printed.contains(k_id));
    assert_eq!(reviewer.post("/console/approvals/print", &[("all", "1")]).status, 422, "nothing left to print");
    assert_eq!(reviewer.post("/console/approvals/print", &[("id", k_id)]).status, 200);
    let log = server.admin_json(&["audit", "--json"]);
    let prints = log.as_array().unwrap().iter().filter(|e| e["action"] == "console.print_card").count();
    assert_eq!(prints, 2);

    // Withdrawing an approval: once.
    assert_eq!(reviewer.post(&format!("/console/approvals/{k_id}/revoke"), &[]).status, 303);
    assert_eq!(reviewer.post(&format!("/console/approvals/{k_id}/revoke"), &[]).status, 422);
    assert!(!reviewer.get("/console/approvals?tab=printed").text().contains(k_id));
    assert!(reviewer.get("/console/approvals").text().contains(k_id), "ready again");
}
