//! The console's dashboard on both stores: the figures by ward and for the
//! city follow the roll import, a tablet's new resident, a confirmed roll
//! row, a duplicate pair; today's throughput counts what tablets sent;
//! silent tablets are listed; every role sees it; a bad sort is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use crate::both;
use crate::support::{Backend, Server, Tablet, bin};

const PASSWORD: &str = "dashboard password 1234";

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema/samples/roll.csv")
}

/// A signed-in browser, as far as cookies and forms go.
struct Console {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

fn cookie_of(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?;
        let (k, value) = pair.split_once('=')?;
        (k.trim() == name && !value.is_empty()).then(|| value.to_string())
    })
}

impl Console {
    fn sign_in(server: &Server, name: &str) -> Console {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build(),
        );
        let base = server.url();
        let mut page = agent.get(format!("{base}/console/login")).call().unwrap();
        let login = cookie_of(&page, "ehcard_login").unwrap();
        let html = page.body_mut().read_to_string().unwrap();
        let csrf = attr_after(&html, "name=\"csrf\"", "value").unwrap();
        let resp = agent
            .post(format!("{base}/console/login"))
            .header("cookie", format!("ehcard_login={login}"))
            .send_form([("csrf", csrf.as_str()), ("next", "/console"), ("name", name), ("password", PASSWORD)])
            .unwrap();
        assert_eq!(resp.status(), 303, "signing in as {name}");
        let session = cookie_of(&resp, "ehcard_session").unwrap();
        Console { agent, base, cookie: format!("ehcard_session={session}") }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut r = self.agent.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    }

    fn dashboard(&self) -> Page {
        let (status, html) = self.get("/console");
        assert_eq!(status, 200, "{html}");
        Page(html)
    }
}

/// The value of attribute `name` in the tag holding `marker`.
fn attr_after(html: &str, marker: &str, name: &str) -> Option<String> {
    let at = html.find(marker)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.split(&format!("{name}=\"")).nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

/// Text with tags removed and spaces squeezed.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Page(String);

impl Page {
    /// A ward's row: residents, households, field, confirmed, to confirm,
    /// gone, pending review, coverage.
    fn ward(&self, ward: u16) -> Option<Vec<String>> {
        let at = self.0.find(&format!("<tr data-ward=\"{ward}\">"))?;
        let row = &self.0[at..at + self.0[at..].find("</tr>")?];
        Some(row.split("<td").skip(1).map(|cell| text(&format!("<td{cell}"))).collect())
    }

    fn city(&self) -> Vec<String> {
        let at = self.0.find("<tr class=\"total\">").unwrap();
        let row = &self.0[at..at + self.0[at..].find("</tr>").unwrap()];
        row.split("<td").skip(1).map(|cell| text(&format!("<td{cell}"))).collect()
    }

    /// The big figure of the card with this class.
    fn card(&self, class: &str) -> String {
        let at = self.0.find(&format!("class=\"card {class}\"")).unwrap_or_else(|| panic!("no card {class}"));
        let rest = &self.0[at..];
        let f = rest.find("<div class=\"figure\">").unwrap() + "<div class=\"figure\">".len();
        rest[f..f + rest[f..].find("</div>").unwrap()].to_string()
    }

    fn has(&self, s: &str) -> bool {
        self.0.contains(s)
    }
}

fn row(v: [&str; 8]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Run SQL on the registry's database directly (to age a tablet's last sync).
fn sql(backend: &Backend, stmt: &str) {
    let out = match backend {
        Backend::Sqlite(dir) => Command::new("sqlite3").arg(dir.path().join("registry.db")).arg(stmt).output().unwrap(),
        Backend::Postgres(c) => {
            let psql = std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin/psql"))
                .filter(|p| p.exists())
                .max()
                .unwrap_or_else(|| PathBuf::from("psql"));
            Command::new(psql).args([&c.url(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", stmt]).output().unwrap()
        }
    };
    assert!(out.status.success(), "{stmt}: {}", String::from_utf8_lossy(&out.stderr));
}

fn add_staff(server: &Server, name: &str, role: &str) {
    let out = Command::new(bin("ehcard-server"))
        .arg("--db")
        .arg(server.backend.url())
        .args(["user", "add", name, "--role", role])
        .env("EHCARD_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

both!(dashboard_figures_follow_the_registry);
fn dashboard_figures_follow_the_registry(backend: Arc<Backend>) {
    let server = Server::start(backend.clone());
    for role in ["admin", "reviewer", "viewer"] {
        add_staff(&server, role, role);
    }
    let viewer = Console::sign_in(&server, "viewer");

    // An empty registry: zeros and an invitation, no chart.
    let empty = viewer.dashboard();
    assert_eq!(empty.card("residents"), "0");
    assert!(empty.has("No residents yet"));
    assert!(!empty.has("coverage-chart"));

    // The sample roll: 21 rows in ward 12 (8 houses), 19 in ward 131 (8 houses).
    let out = server.admin(&["import-roll", sample().to_str().unwrap(), "--as-of", "2026-01-01", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = viewer.dashboard();
    assert_eq!(page.ward(12).unwrap(), row(["21", "8", "0", "0", "21", "0", "0", "0.0%"]));
    assert_eq!(page.ward(131).unwrap(), row(["19", "8", "0", "0", "19", "0", "0", "0.0%"]));
    assert_eq!(page.city(), row(["40", "16", "0", "0", "40", "0", "0", "0.0%"]));
    assert_eq!(
        (page.card("residents"), page.card("households"), page.card("coverage")),
        ("40".into(), "16".into(), "0.0%".into())
    );
    assert!(page.has("coverage-chart") && page.has("<title id=\"cov-title\">"));
    // The roll is not tablet traffic.
    assert_eq!((page.card("received"), page.card("enrolled")), ("0".into(), "0".into()));

    // A ward-12 tablet: confirms a roll row, enrolls someone new, and the
    // same man twice (a duplicate pair for review).
    let tablet = Tablet::provision(&server, "12", "Ward 12 tablet");
    tablet.sync();
    let hits = tablet.json(&["search", "DLA1200013", "--json"]);
    let vikram = hits.as_array().unwrap().iter().find(|h| h["voter_id"] == "DLA1200013").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    tablet.ok(&["edit", &vikram, "--set", "status=verified"]);
    let hits = tablet.json(&["search", "DLA1200014", "--json"]);
    let moved = hits.as_array().unwrap().iter().find(|h| h["voter_id"] == "DLA1200014").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    tablet.ok(&["edit", &moved, "--set", "status=moved"]);
    let person = |given: &str, phone: &str| {
        serde_json::json!({"given_name": given, "family_name": "Iqbal", "sex": "male", "birth_year": 1980,
            "phone": phone, "address": {"house": "14", "street": "Gali 3", "ward": 12}})
        .to_string()
    };
    let first = tablet.json(&["enroll", "--json-out", &person("Mohammad", "9876500011")]);
    let second = person("Mohd", "9876500012");
    tablet.json(&["enroll", "--json-out", &second, "--not-duplicate-of", first["id"].as_str().unwrap()]);
    let s = tablet.sync();
    assert_eq!(s["complete"], true, "{s}");
    let pairs = server.admin_json(&["duplicates", "--json"]);
    let pairs = pairs.as_array().map(Vec::len).unwrap_or(0) as i64;

    let page = viewer.dashboard();
    // 21 roll rows + 2 new (each in a new household); 1 confirmed, 19 to
    // confirm, 1 moved; the pair.
    let w12 = page.ward(12).unwrap();
    assert_eq!(w12[..6], row(["23", "10", "2", "1", "19", "1", "0", "0"])[..6], "{w12:?}");
    assert_eq!(w12[6], pairs.to_string(), "{w12:?}");
    assert_eq!(page.card("pending"), pairs.to_string());
    assert_eq!(w12[7], "4.7%"); // 1 of 21
    assert_eq!(page.ward(131).unwrap(), row(["19", "8", "0", "0", "19", "0", "0", "0.0%"]));
    assert_eq!(page.card("field"), "2");
    assert_eq!(page.card("confirmed"), "1");
    assert_eq!(page.card("unverified"), "38");
    assert_eq!(page.card("gone"), "1");
    assert_eq!(page.card("coverage"), "2.5%"); // 1 of 40
    // Today: what the tablet sent (two edits, two new residents at least),
    // the two residents enrolled today, one tablet of one synced.
    let received: i64 = page.card("received").parse().unwrap();
    assert!(received >= 4, "{received}");
    assert_eq!(page.card("enrolled"), "2");
    assert_eq!(page.card("synced"), "1 / 1");
    assert_eq!(page.card("active"), "1");
    assert!(page.has("Every active tablet has synced"));

    // A tablet silent for five days, one awaiting provisioning, one revoked.
    let silent = Tablet::provision(&server, "131", "Ward 131 tablet");
    silent.sync();
    let five_days_ago = chrono::Utc::now().timestamp() - 5 * 86_400;
    sql(&backend, &format!("UPDATE devices SET last_sync_at = {five_days_ago} WHERE id = '{}'", silent.device_id));
    server.add_device("131", "Spare tablet");
    let (revoked, _) = server.add_device("131", "Lost tablet");
    assert!(server.admin(&["device", "revoke", &revoked]).status.success());
    let page = viewer.dashboard();
    assert_eq!(
        (page.card("active"), page.card("awaiting"), page.card("revoked")),
        ("2".into(), "1".into(), "1".into())
    );
    let stale = &page.0[page.0.find("<table class=\"stale\"").unwrap()..];
    let stale = text(&stale[..stale.find("</table>").unwrap()]);
    assert!(stale.contains("Ward 131 tablet") && stale.contains(" 5"), "{stale}");
    assert!(!stale.contains("Ward 12 tablet"), "{stale}");

    // Sorting: lowest coverage first by default, by ward on request; a bad
    // sort is refused with what to use instead.
    let pos = |p: &Page, w: u16| p.0.find(&format!("<tr data-ward=\"{w}\">")).unwrap();
    assert!(pos(&page, 131) < pos(&page, 12));
    let (status, html) = viewer.get("/console?sort=ward");
    assert_eq!(status, 200);
    let by_ward = Page(html);
    assert!(pos(&by_ward, 12) < pos(&by_ward, 131));
    assert!(by_ward.has("aria-sort=\"ascending\""));
    let (status, html) = viewer.get("/console?sort=%3Cscript%3E");
    assert_eq!(status, 422);
    assert!(html.contains("coverage") && !html.contains("<script>"), "{html}");

    // Every role sees it; administrators get the link to manage tablets.
    for role in ["admin", "reviewer"] {
        let page = Console::sign_in(&server, role).dashboard();
        assert_eq!(page.card("residents"), "42");
        assert_eq!(page.has("href=\"/console/tablets\""), role == "admin");
    }
    assert!(!viewer.dashboard().has("href=\"/console/tablets\""));

    // The store's figures, straight: the same as the page; yesterday (IST)
    // saw no tablet traffic.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (today, yesterday) = rt.block_on(async {
        let store = ehcard_server::store::open(&backend.url()).await.unwrap();
        let day = ehcard_server::console::dashboard::ist_day_start(chrono::Utc::now().timestamp());
        (store.dashboard(day).await.unwrap(), store.dashboard(day - 86_400).await.unwrap())
    });
    assert_eq!((today.total.residents, today.total.households, today.total.roll), (42, 18, 40));
    assert_eq!((today.total.confirmed, today.total.gone, today.total.field), (1, 1, 2));
    assert_eq!(today.wards.iter().map(|w| w.ward).collect::<Vec<_>>(), [12, 131]);
    assert_eq!(today.received_today(), received);
    assert_eq!(today.received_by_hour.len(), 24);
    assert_eq!(today.enrolled_today, 2);
    assert_eq!((yesterday.received_today(), yesterday.enrolled_today), (0, 0));
    assert_eq!(yesterday.total, today.total, "the ward figures do not depend on the day");

    // Signed out: sent to sign in, nothing shown.
    let anon = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build(),
    );
    let r = anon.get(format!("{}/console", server.url())).call().unwrap();
    assert_eq!(r.status(), 303);
}
