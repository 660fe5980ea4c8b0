//! The console's administration pages on both stores, over real HTTP on
//! loopback against the real router (in this process, with the real clock
//! so real tablets can sync): tablets provisioned from the console work on
//! a real tablet and revocation refuses its next sync; staff accounts are
//! added, reset and disabled by the command line's rules; roll uploads
//! with bad rows import nothing and list them, clean ones import once; the
//! audit log filters by who, what, about whom and when.

use std::net::SocketAddr;
use std::sync::Arc;

use ehcard_server::api::{AppState, router};
use ehcard_server::console::admin::tablets;
use ehcard_server::dedup::NewAudit;
use ehcard_server::staff::{Role, Staff, hash_password};
use ehcard_server::store::console_admin::{AuditQuery, NewRollJob};
use ehcard_server::store::{self, DynStore};

use crate::both;
use crate::support::{Backend, Tablet};

struct Console {
    base: String,
    store: DynStore,
    rt: tokio::runtime::Runtime,
    agent: ureq::Agent,
}

struct Answer {
    status: u16,
    location: String,
    cookies: Vec<String>,
    body: String,
}

#[derive(Clone)]
struct Browser {
    cookie: String,
    csrf: String,
}

fn password(name: &str) -> String {
    format!("{name} password 1234")
}

impl Console {
    fn start(backend: &Backend) -> Console {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let url = backend.url();
        let (addr, store): (SocketAddr, DynStore) = rt.block_on(async move {
            let store = store::open(&url).await.unwrap();
            store.migrate().await.unwrap();
            for (name, role) in [("asha", Role::Admin), ("ravi", Role::Reviewer), ("vera", Role::Viewer)] {
                let password_hash = hash_password(&password(name)).unwrap();
                let s = Staff { name: name.into(), role, password_hash, created_at: 0, disabled_at: None };
                store.add_staff(s).await.unwrap();
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let mut state = AppState::new(store.clone());
            state.public_url = Some(Arc::new(format!("http://{addr}")));
            let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move { axum::serve(listener, app).await });
            (addr, store)
        });
        let cfg = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build();
        Console { base: format!("http://{addr}"), store, rt, agent: ureq::Agent::new_with_config(cfg) }
    }

    fn answer(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut resp = resp.unwrap();
        let all = |name: &str| {
            resp.headers().get_all(name).iter().map(|v| v.to_str().unwrap_or("").to_string()).collect::<Vec<_>>()
        };
        let (location, cookies) = (all("location").pop().unwrap_or_default(), all("set-cookie"));
        Answer { status: resp.status().as_u16(), location, cookies, body: resp.body_mut().read_to_string().unwrap() }
    }

    fn get(&self, path: &str, who: &Browser) -> Answer {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).header("cookie", &who.cookie).call())
    }

    fn post(&self, path: &str, who: &Browser, form: &[(&str, &str)]) -> Answer {
        let mut fields = vec![("csrf", who.csrf.as_str())];
        fields.extend_from_slice(form);
        let req = self.agent.post(format!("{}{path}", self.base)).header("cookie", &who.cookie);
        Self::answer(req.send_form(fields))
    }

    fn upload(&self, path: &str, who: &Browser, name: &str, data: &str, as_of: Option<&str>) -> Answer {
        self.try_upload(path, who, name, data, as_of).unwrap_or_else(|| panic!("upload to {path} failed"))
    }

    /// An upload the server may refuse before reading it: its answer, or
    /// none when the server closed the connection before the body was sent.
    fn try_upload(&self, path: &str, who: &Browser, name: &str, data: &str, as_of: Option<&str>) -> Option<Answer> {
        let boundary = "----ehcard-test-boundary-7d1f";
        let mut body = String::new();
        if let Some(d) = as_of {
            body.push_str(&format!("--{boundary}\r\ncontent-disposition: form-data; name=\"as_of\"\r\n\r\n{d}\r\n"));
        }
        body.push_str(&format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             content-type: text/csv\r\n\r\n{data}\r\n--{boundary}--\r\n"
        ));
        let req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("cookie", &who.cookie)
            .header("content-type", format!("multipart/form-data; boundary={boundary}"));
        let resp = req.send(body.as_bytes()).ok()?;
        Some(Self::answer(Ok(resp)))
    }

    fn sign_in_with(&self, name: &str, pw: &str) -> Option<Browser> {
        let page = Self::answer(self.agent.get(format!("{}/console/login", self.base)).call());
        let token = page
            .cookies
            .iter()
            .find_map(|c| c.split(';').next()?.strip_prefix("ehcard_login=").map(str::to_string))
            .unwrap();
        let req =
            self.agent.post(format!("{}/console/login", self.base)).header("cookie", format!("ehcard_login={token}"));
        let a = Self::answer(req.send_form([
            ("csrf", token.as_str()),
            ("name", name),
            ("password", pw),
            ("next", "/console"),
        ]));
        if a.status != 303 {
            return None;
        }
        let session =
            a.cookies.iter().find_map(|c| c.split(';').next()?.strip_prefix("ehcard_session=").map(str::to_string))?;
        let cookie = format!("ehcard_session={session}");
        let home = self.get("/console", &Browser { cookie: cookie.clone(), csrf: String::new() });
        let csrf = home.body.split("data-csrf=\"").nth(1).and_then(|s| s.split('"').next())?.to_string();
        Some(Browser { cookie, csrf })
    }

    fn sign_in(&self, name: &str) -> Browser {
        self.sign_in_with(name, &password(name)).unwrap_or_else(|| panic!("{name} signs in"))
    }

    fn block<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    fn actions(&self) -> Vec<(String, String, String)> {
        let log = self.block(self.store.audit_log(None, 10_000)).unwrap();
        log.into_iter().map(|e| (e.actor, e.action, e.subject)).collect()
    }
}

fn attr<'a>(body: &'a str, name: &str) -> &'a str {
    body.split(&format!("{name}=\"")).nth(1).and_then(|s| s.split('"').next()).unwrap_or("")
}

both!(console_admin_tablets_provision_and_revoke);
fn console_admin_tablets_provision_and_revoke(backend: Arc<Backend>) {
    let c = Console::start(&backend);
    let admin = c.sign_in("asha");
    let reviewer = c.sign_in("ravi");
    assert_eq!(c.get("/console/tablets", &admin).status, 200);
    for who in [&reviewer, &c.sign_in("vera")] {
        assert_eq!(c.get("/console/tablets", who).status, 403);
    }

    // Bad input: refused with a reason; no device added.
    for (form, says) in [
        (vec![("label", "T"), ("wards", "0"), ("hours", "24")], "is not a ward number"),
        (vec![("label", "T"), ("wards", "251")], "is not a ward number"),
        (vec![("label", "T"), ("wards", "twelve")], "is not a ward number"),
        (vec![("label", "T"), ("wards", "")], "at least one ward"),
        (vec![("label", " "), ("wards", "5")], "Give the tablet a label"),
        (vec![("label", "T"), ("wards", "5"), ("hours", "0")], "1 to 720 hours"),
        (vec![("label", "T"), ("wards", "5"), ("hours", "721")], "1 to 720 hours"),
        (vec![("label", "T"), ("wards", "5"), ("hours", "soon")], "1 to 720 hours"),
        (vec![], "at least one ward"),
    ] {
        let a = c.post("/console/tablets", &admin, &form);
        assert_eq!(a.status, 422, "{form:?}");
        assert!(a.body.contains(says), "{form:?}: {}", a.body);
    }
    assert!(c.block(c.store.devices()).unwrap().is_empty());
    // A reviewer's forged request (their own valid token) adds nothing.
    assert_eq!(c.post("/console/tablets", &reviewer, &[("label", "F"), ("wards", "5")]).status, 403);
    assert!(c.block(c.store.devices()).unwrap().is_empty());

    // Provision: the code is on the answer page once, with its QR code.
    let a = c.post("/console/tablets", &admin, &[("label", "Ward 5 team 1"), ("wards", "5, 6"), ("hours", "24")]);
    assert_eq!(a.status, 200, "{}", a.body);
    let code = attr(&a.body, "data-code").to_string();
    assert_eq!(code.len(), 19, "{code}");
    assert!(a.body.contains("<svg") && a.body.contains("shape-rendering=\"crispEdges\""));
    assert!(!a.body.contains("style="), "no inline style");
    // The QR holds what the field app reads: the server and the code.
    let payload: serde_json::Value = serde_json::from_str(&tablets::qr_payload(Some(&c.base), &code)).unwrap();
    assert_eq!(payload["server"], c.base.as_str());
    assert_eq!(payload["code"], code.as_str());
    let devices = c.block(c.store.devices()).unwrap();
    assert_eq!(devices.len(), 1);
    let d = &devices[0];
    assert_eq!((d.label.as_str(), d.wards.clone(), d.status()), ("Ward 5 team 1", vec![5, 6], "awaiting provisioning"));
    assert!(!c.get("/console/tablets", &admin).body.contains(&code), "the code is never shown again");

    // A real tablet provisions itself with it and syncs.
    let t = Tablet { dir: tempfile::tempdir().unwrap(), device_id: d.id.clone() };
    t.ok(&["init", "--server", payload["server"].as_str().unwrap(), "--code", payload["code"].as_str().unwrap()]);
    t.import(&[crate::support::resident(1, 5)]);
    t.sync();
    let again = Tablet { dir: tempfile::tempdir().unwrap(), device_id: String::new() };
    assert!(!again.run(&["init", "--server", &c.base, "--code", &code]).status.success(), "the code works once");
    let list = c.get("/console/tablets?q=team+1", &admin).body;
    assert!(list.contains("Ward 5 team 1") && list.contains(">active<"), "{list}");
    assert!(c.get("/console/tablets?ward=7", &admin).body.contains("No tablet matches"));
    assert_eq!(c.get("/console/tablets?ward=x", &admin).status, 422);
    assert_eq!(c.get("/console/tablets/not-a-device/revoke", &admin).status, 404);
    assert_eq!(c.get("/console/tablets/01a0c450-6c00-7699-b7ca-ad8d6837074f/revoke", &admin).status, 404);

    // Revoke: a reviewer cannot; unconfirmed does nothing; confirmed refuses the next sync.
    let path = format!("/console/tablets/{}/revoke", d.id);
    assert!(c.get(&path, &admin).body.contains("Its next sync is refused"));
    assert_eq!(c.post(&path, &reviewer, &[("confirm", "yes")]).status, 403);
    assert_eq!(c.post(&path, &admin, &[]).status, 422);
    assert!(c.block(c.store.device(&d.id)).unwrap().unwrap().revoked_at.is_none());
    t.sync();
    let a = c.post(&path, &admin, &[("confirm", "yes")]);
    assert_eq!(a.status, 303);
    assert!(c.get(&a.location, &admin).body.contains("is revoked: its next sync is refused"));
    assert!(c.block(c.store.device(&d.id)).unwrap().unwrap().revoked_at.is_some());
    let out = t.run(&["sync", "--json"]);
    assert!(!out.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(said.contains("revoked"), "{said}");
    // What it synced before stays.
    assert_eq!(c.block(c.store.stats()).unwrap().residents, 1);

    let log = c.actions();
    let subject = format!("device:{}", d.id);
    for action in ["console.tablet_add", "console.tablet_revoke"] {
        assert!(log.iter().any(|(who, a, s)| who == "asha" && a == action && *s == subject), "{action}: {log:?}");
    }
    assert_eq!(log.iter().filter(|(_, a, _)| a == "console.tablet_revoke").count(), 1);
}

both!(console_admin_staff_accounts);
fn console_admin_staff_accounts(backend: Arc<Backend>) {
    let c = Console::start(&backend);
    let admin = c.sign_in("asha");
    let names = || c.block(c.store.staff_list()).unwrap().into_iter().map(|s| s.name).collect::<Vec<_>>();
    let before = names();
    for (form, says) in [
        (vec![("name", "nina"), ("role", "viewer"), ("password", "short")], "at least"),
        (vec![("name", "n"), ("role", "viewer"), ("password", "a long enough password")], "3 to 40"),
        (vec![("name", "<b>x</b>"), ("role", "viewer"), ("password", "a long enough password")], "3 to 40"),
        (vec![("name", "nina"), ("role", "root"), ("password", "a long enough password")], "Choose a role"),
        (vec![("name", "ravi"), ("role", "viewer"), ("password", "a long enough password")], "already an account"),
        (vec![], "Choose a role"),
    ] {
        let a = c.post("/console/staff", &admin, &form);
        assert_eq!(a.status, 422, "{form:?}");
        assert!(a.body.contains(says), "{form:?}: {}", a.body);
    }
    assert_eq!(names(), before);
    let reviewer = c.sign_in("ravi");
    let forged = [("name", "mallory"), ("role", "admin"), ("password", "a long enough password")];
    assert_eq!(c.post("/console/staff", &reviewer, &forged).status, 403);
    assert_eq!(names(), before);

    // Added: she can sign in.
    let a =
        c.post("/console/staff", &admin, &[("name", "nina"), ("role", "viewer"), ("password", "nina first password")]);
    assert_eq!(a.status, 303);
    assert!(c.get(&a.location, &admin).body.contains("nina (viewer) was added"));
    let nina = c.sign_in_with("nina", "nina first password").unwrap();
    let s = c.block(c.store.staff("nina")).unwrap().unwrap();
    assert_eq!(s.role, Role::Viewer);
    assert!(s.password_hash.starts_with("$argon2id$"));

    // A new password: her session ends; only the new one works.
    assert_eq!(c.post("/console/staff/nina/password", &admin, &[("password", "short")]).status, 422);
    assert_eq!(c.get("/console", &nina).status, 200, "a refused reset changes nothing");
    assert_eq!(c.post("/console/staff/nina/password", &admin, &[("password", "nina second password")]).status, 303);
    assert_eq!(c.get("/console", &nina).status, 303);
    assert!(c.sign_in_with("nina", "nina first password").is_none());
    let nina = c.sign_in_with("nina", "nina second password").unwrap();

    // Disabled: her session ends; she cannot sign in.
    assert_eq!(c.post("/console/staff/nina/disable", &reviewer, &[]).status, 403);
    assert_eq!(c.get("/console", &nina).status, 200);
    assert_eq!(c.post("/console/staff/nina/disable", &admin, &[]).status, 303);
    assert_eq!(c.get("/console", &nina).status, 303);
    assert!(c.sign_in_with("nina", "nina second password").is_none());
    assert!(c.block(c.store.staff("nina")).unwrap().unwrap().disabled_at.is_some());
    assert_eq!(c.post("/console/staff/nina/password", &admin, &[("password", "nina third password")]).status, 422);
    // Not oneself; not an unknown account.
    let a = c.post("/console/staff/asha/disable", &admin, &[]);
    assert_eq!(a.status, 422);
    assert!(a.body.contains("cannot disable your own account"));
    assert_eq!(c.post("/console/staff/nobody/disable", &admin, &[]).status, 404);
    assert_eq!(c.post("/console/staff/%3Cb%3E/disable", &admin, &[]).status, 404);
    assert!(c.block(c.store.staff("asha")).unwrap().unwrap().disabled_at.is_none());

    let log = c.actions();
    for action in ["console.staff_add", "console.staff_password", "console.staff_disable"] {
        assert!(log.iter().any(|(who, a, s)| who == "asha" && a == action && s == "nina"), "{action}: {log:?}");
    }
}

const HEADER: &str = "epic,name_en,name_hi,relation_type,relation_name_en,relation_name_hi,age,date_of_birth,sex,house_no,section,ward,part_no,serial_no";

fn roll_rows(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

const GOOD: [&str; 3] = [
    "DLT0500001,Meena Arora,मीना अरोड़ा,F,Ramesh Arora,रमेश अरोड़ा,40,,F,5/1,Gali 1,5,1,1",
    "DLT0500002,Ramesh Arora,रमेश अरोड़ा,F,Kishan Arora,किशन अरोड़ा,66,,M,5/1,Gali 1,5,1,2",
    "DLT0500003,Tara Devi,तारा देवी,H,Mohan Lal,मोहन लाल,70,,F,5/2,Gali 1,5,1,3",
];

/// Follow an upload to its job page and wait for the job to end; the page.
fn finished_job(c: &Console, who: &Browser, upload: &Answer) -> String {
    assert_eq!(upload.status, 303, "{}", upload.body);
    assert!(upload.location.starts_with("/console/roll/jobs/"), "{}", upload.location);
    for _ in 0..300 {
        let page = c.get(&upload.location, who);
        assert_eq!(page.status, 200);
        if !page.body.contains("data-state=\"running\"") {
            return page.body;
        }
        assert!(page.body.contains("http-equiv=\"refresh\""), "a running job's page refreshes itself");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the job did not end");
}

both!(console_admin_roll_upload);
fn console_admin_roll_upload(backend: Arc<Backend>) {
    let c = Console::start(&backend);
    let admin = c.sign_in("asha");
    let page = c.get("/console/roll", &admin);
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let path = format!("/console/roll?csrf={}", admin.csrf);
    let residents = || c.block(c.store.stats()).unwrap().residents;

    // Refused before a job starts: no token, no file, a future date, a reviewer.
    let no_token = Browser { cookie: admin.cookie.clone(), csrf: String::new() };
    let refused = |a: Option<Answer>| a.is_none_or(|a| a.status == 403);
    assert!(refused(c.try_upload("/console/roll", &no_token, "r.csv", &roll_rows(&GOOD), None)));
    assert_eq!(c.post("/console/roll", &admin, &[]).status, 422);
    assert_eq!(c.upload(&path, &admin, "r.csv", &roll_rows(&GOOD), Some("2999-01-01")).status, 422);
    assert_eq!(c.upload(&path, &admin, "r.csv", "", None).status, 422);
    let reviewer = c.sign_in("ravi");
    let rpath = format!("/console/roll?csrf={}", reviewer.csrf);
    assert!(refused(c.try_upload(&rpath, &reviewer, "r.csv", &roll_rows(&GOOD), None)));
    assert!(c.block(c.store.roll_jobs(10)).unwrap().is_empty());

    // Bad rows: listed with line, column, value; nothing imported.
    let bad = roll_rows(&[
        GOOD[0],
        "DLT0500009,Bad Age,,F,X,,abc,,M,5/3,Gali 1,5,1,4",
        GOOD[1],
        "DLT0500010,Bad Ward,,F,X,,30,,F,5/3,Gali 1,0,1,5",
    ]);
    let body = finished_job(&c, &admin, &c.upload(&path, &admin, "../../etc/ward5.csv", &bad, None));
    assert!(body.contains("data-state=\"rejected\""), "{body}");
    assert!(body.contains("2 of 4 rows are wrong, so nothing was imported"), "{body}");
    assert!(body.contains("<td class=\"num\">3</td><td><code>age</code></td><td>abc</td>"), "{body}");
    assert!(body.contains("<td class=\"num\">5</td><td><code>ward</code></td><td>0</td>"), "{body}");
    assert_eq!(residents(), 0);
    let jobs = c.block(c.store.roll_jobs(10)).unwrap();
    assert_eq!((jobs[0].state.as_str(), jobs[0].bad_rows, jobs[0].file_name.as_str()), ("rejected", 2, "ward5.csv"));

    // A clean file imports; the same file again changes nothing.
    let good = roll_rows(&GOOD);
    let body = finished_job(&c, &admin, &c.upload(&path, &admin, "ward5.csv", &good, Some("2026-11-01")));
    assert!(body.contains("data-state=\"done\""), "{body}");
    assert!(body.contains("Imported: 3 rows"), "{body}");
    assert_eq!(residents(), 3);
    let job = c.block(c.store.roll_jobs(1)).unwrap().remove(0);
    let summary = job.summary.clone().unwrap();
    assert_eq!((summary["added"].as_i64(), summary["households_added"].as_i64()), (Some(3), Some(2)));
    assert_eq!((job.as_of.as_str(), job.total_rows, job.done_rows), ("2026-11-01", 3, 3));
    let body = finished_job(&c, &admin, &c.upload(&path, &admin, "ward5.csv", &good, Some("2026-11-01")));
    assert!(body.contains("data-state=\"done\""), "{body}");
    let again = c.block(c.store.roll_jobs(1)).unwrap().remove(0).summary.unwrap();
    assert_eq!((again["added"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(3)));
    assert_eq!(residents(), 3);

    // A job whose server stopped shows as interrupted, not running forever.
    let now = chrono::Utc::now().timestamp();
    let stale = NewRollJob {
        file_name: "lost.csv".into(),
        file_bytes: 10,
        file_sha256: "00".into(),
        as_of: "2026-11-01".into(),
        uploaded_by: "asha".into(),
        instance: "a server that stopped".into(),
        now: now - 600,
    };
    let id = c.block(c.store.create_roll_job(stale)).unwrap();
    let page = c.get(&format!("/console/roll/jobs/{id}"), &admin).body;
    assert!(page.contains("data-state=\"interrupted\"") && !page.contains("http-equiv=\"refresh\""), "{page}");
    assert_eq!(c.get("/console/roll/jobs/999999", &admin).status, 404);
    assert_eq!(c.get("/console/roll/jobs/x", &admin).status, 404);
    assert_eq!(c.get(&format!("/console/roll/jobs/{id}"), &reviewer).status, 403);

    let log = c.actions();
    let uploads = log.iter().filter(|(w, a, s)| w == "asha" && a == "console.roll_upload" && s == "ward5.csv").count();
    let imports = log.iter().filter(|(w, a, s)| w == "asha" && a == "console.roll_import" && s == "ward5.csv").count();
    assert_eq!((uploads, imports), (3, 3), "{log:?}");
}

both!(console_admin_audit_log);
fn console_admin_audit_log(backend: Arc<Backend>) {
    let c = Console::start(&backend);
    let admin = c.sign_in("asha");
    let reviewer = c.sign_in("ravi");
    let viewer = c.sign_in("vera");
    assert_eq!(c.get("/console/audit", &viewer).status, 403);
    assert_eq!(c.get("/console/audit", &reviewer).status, 200);
    let base = 1_800_000_000;
    for i in 0..30i64 {
        let e = NewAudit {
            at: base + i * 3600,
            actor: if i % 2 == 0 { "asha".into() } else { "cli-admin".into() },
            action: if i % 3 == 0 { "device_add".into() } else { "merge".into() },
            subject: format!("subject-{}", i % 5),
            detail: serde_json::json!({"i": i, "at_x": 1}),
        };
        c.block(c.store.audit(e)).unwrap();
    }
    let page = |q: AuditQuery| c.block(c.store.audit_page(q)).unwrap();
    let all = page(AuditQuery { limit: 1000, ..Default::default() });
    assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
    let by = page(AuditQuery {
        actor: Some("asha".into()),
        action: Some("device_add".into()),
        limit: 100,
        ..Default::default()
    });
    assert_eq!(by.len(), 5, "{by:?}");
    assert!(by.iter().all(|e| e.actor == "asha" && e.action == "device_add"));
    let about =
        page(AuditQuery { subjects: vec!["subject-1".into(), "subject-2".into()], limit: 100, ..Default::default() });
    assert_eq!(about.len(), 12);
    let when =
        page(AuditQuery { from: Some(base + 3600), to: Some(base + 4 * 3600), limit: 100, ..Default::default() });
    assert_eq!(when.iter().map(|e| e.at).collect::<Vec<_>>(), vec![base + 3 * 3600, base + 2 * 3600, base + 3600]);
    // Keyset pages: no entry twice, none missed.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let p = page(AuditQuery { actor: Some("cli-admin".into()), before, limit: 4, ..Default::default() });
        if p.is_empty() {
            break;
        }
        before = p.last().map(|e| e.seq);
        seen.extend(p.into_iter().map(|e| e.seq));
    }
    assert_eq!(seen.len(), 15);
    let actions = c.block(c.store.audit_actions()).unwrap();
    assert_eq!(actions, ["console.sign_in", "device_add", "merge"]);

    // The page: filters in the address, the log read-only.
    let body = c.get("/console/audit?actor=asha&action=device_add", &reviewer).body;
    assert_eq!(body.matches("<tr data-seq=").count(), 5, "{body}");
    assert!(body.contains("Tablet added (command line)"));
    let body = c.get("/console/audit?subject=ravi", &reviewer).body;
    assert!(body.contains("staff:ravi") && !body.contains("staff:asha"), "a typed name finds the staff subject");
    assert_eq!(c.get("/console/audit?from=28-11-2026", &reviewer).status, 422);
    assert_eq!(c.get("/console/audit?before=x", &reviewer).status, 422);
    assert!(c.get("/console/audit?from=2001-01-01&to=2001-01-02", &reviewer).body.contains("No entries match"));
    let body = c.get("/console/audit", &admin).body;
    assert_eq!(body.matches("<tr data-seq=").count(), all.len().min(50));
    assert_eq!(body.contains("rel=\"next\""), all.len() > 50);
    let count = all.len();
    assert!(c.post("/console/audit", &admin, &[]).status >= 400);
    assert!(c.block(c.store.audit_log(None, 10_000)).unwrap().len() >= count);
}
