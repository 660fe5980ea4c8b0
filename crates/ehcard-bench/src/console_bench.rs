//! `ehcard-bench console`: the registry console's pages on a registry of N
//! residents (default 1,000,000), as a signed-in browser asks for them.
//!
//! The registry is built the way an administrator builds one: a synthetic
//! electoral-roll extract across all 250 wards goes through `ehcard-server
//! import-roll` (the release binary; its matcher leaves pending duplicate
//! pairs), tablets are added (some awaiting provisioning, one revoked) and
//! a viewer account. Then `ehcard-server serve` runs, the bench signs in
//! through the sign-in form (CSRF cookie and field, session cookie) and
//! times each page over keep-alive HTTP on loopback: the dashboard, and the
//! search page for an English name prefix, a Devanagari name, a phone
//! number, a voter id (EPIC) and an eHealth ID. A page that is not built
//! yet answers 404 and is reported as such. The baseline, in the same run
//! and over the same connection, is `GET /healthz`.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/sync/pg.rs"]
mod pg;

const PASSWORD: &str = "bench viewer password";

fn bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("no bin dir")?.join(name);
    if !p.exists() {
        bail!("{} is not built: cargo build --release -p ehcard-server", p.display());
    }
    Ok(p)
}

/// `ehcard-server --db DB ARGS…`; its stdout. Fails with its stderr.
fn admin(db: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    let out = Command::new(bin("ehcard-server")?)
        .args(["--db", db])
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!("ehcard-server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `import-roll`, relaying its progress (`EHCARD_PROGRESS=plain`) as one
/// line per stage and tenth; the JSON summary and the wall time.
fn import(db: &str, file: &Path) -> Result<(serde_json::Value, f64)> {
    let t = Instant::now();
    let mut child = Command::new(bin("ehcard-server")?)
        .args(["--db", db, "import-roll"])
        .arg(file)
        .args(["--json", "--as-of", "2026-01-01"])
        .env("EHCARD_PROGRESS", "plain")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().context("stderr")?;
    let relay = std::thread::spawn(move || {
        let mut last = (String::new(), u64::MAX);
        let mut other = Vec::new();
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let Some(rest) = line.strip_prefix("progress ") else {
                other.push(line);
                continue;
            };
            let mut it = rest.split_whitespace();
            let (Some(stage), Some(frac)) = (it.next(), it.next()) else { continue };
            let Some((done, total)) = frac.split_once('/') else { continue };
            let (done, total) = (done.parse::<u64>().unwrap_or(0), total.parse::<u64>().unwrap_or(0).max(1));
            let tenth = done * 10 / total;
            if stage != last.0 || tenth != last.1 {
                if stage != "done" {
                    eprintln!("  {stage:<10} {:>3}%  {done}/{total}  ({:.0} s)", tenth * 10, t.elapsed().as_secs_f64());
                }
                last = (stage.to_string(), tenth);
            }
        }
        other
    });
    let mut stdout = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().context("stdout")?, &mut stdout)?;
    let status = child.wait()?;
    let other = relay.join().unwrap_or_default();
    if !status.success() {
        bail!("import-roll on {db}: {}", other.join("\n"));
    }
    Ok((serde_json::from_str(&stdout)?, t.elapsed().as_secs_f64()))
}

struct ServerProc {
    child: Child,
    url: String,
}

impl ServerProc {
    fn start(db: &str, dir: &Path) -> Result<ServerProc> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new(bin("ehcard-server")?)
            .args(["--db", db, "--registry-key"])
            .arg(dir.join("registry.key"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stderr = child.stderr.take().context("stderr")?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut ready = false;
        for line in lines.by_ref() {
            if line?.contains("listening on") {
                ready = true;
                break;
            }
        }
        if !ready {
            let _ = child.kill();
            bail!("ehcard-server serve did not start");
        }
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Ok(ServerProc { child, url: format!("http://127.0.0.1:{port}") })
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser, as far as the console's cookies and forms go.
struct Browser {
    agent: ureq::Agent,
    base: String,
    cookie: String,
}

fn set_cookie(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let (k, value) = v.split(';').next()?.split_once('=')?;
        (k.trim() == name && !value.is_empty()).then(|| value.to_string())
    })
}

/// The `value` of the hidden `csrf` field of the sign-in form.
fn csrf_field(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\"")?;
    let tag = &html[html[..at].rfind('<')?..at + html[at..].find('>')?];
    let v = tag.split("value=\"").nth(1)?;
    Some(v[..v.find('"')?].to_string())
}

impl Browser {
    fn sign_in(base: &str, name: &str) -> Result<Browser> {
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build(),
        );
        let mut page = agent.get(format!("{base}/console/login")).call()?;
        let login = set_cookie(&page, "ehcard_login").context("the sign-in page set no ehcard_login cookie")?;
        let csrf = csrf_field(&page.body_mut().read_to_string()?).context("the sign-in form has no csrf field")?;
        let resp = agent
            .post(format!("{base}/console/login"))
            .header("cookie", format!("ehcard_login={login}"))
            .send_form([("csrf", csrf.as_str()), ("next", "/console"), ("name", name), ("password", PASSWORD)])?;
        let session = set_cookie(&resp, "ehcard_session")
            .with_context(|| format!("signing in as {name} failed: status {}", resp.status()))?;
        Ok(Browser { agent, base: base.to_string(), cookie: format!("ehcard_session={session}") })
    }

    /// One request, read to the end: status, bytes, time, and where a
    /// redirect points.
    fn get(&self, path: &str) -> Result<(u16, usize, Duration, Option<String>)> {
        let t = Instant::now();
        let mut resp = self.agent.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).call()?;
        let body = resp.body_mut().with_config().limit(64 << 20).read_to_vec()?;
        let location = resp.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok((resp.status().as_u16(), body.len(), t.elapsed(), location))
    }
}

/// The timings of one page.
struct Timed {
    status: u16,
    location: Option<String>,
    bytes: usize,
    first: Duration,
    times: Vec<Duration>,
}

impl Timed {
    fn pct(&self, p: f64) -> f64 {
        crate::ms(crate::pct(self.times.clone(), p))
    }
    fn max(&self) -> f64 {
        crate::ms(self.times.iter().copied().max().unwrap_or_default())
    }
    /// Answered (a page, or a redirect to the record found).
    fn ok(&self) -> bool {
        (200..400).contains(&self.status)
    }
}

fn time_page(b: &Browser, path: &str, warmup: usize, requests: usize) -> Result<Timed> {
    let (status, bytes, first, location) = b.get(path)?;
    for _ in 1..warmup {
        b.get(path)?;
    }
    let mut times = Vec::with_capacity(requests);
    for _ in 0..requests {
        let (s, _, t, _) = b.get(path)?;
        if s != status {
            bail!("GET {path}: status {status}, then {s}");
        }
        times.push(t);
    }
    Ok(Timed { status, location, bytes, first, times })
}

/// What each store's run measured.
struct Figures {
    import_wall: f64,
    summary: serde_json::Value,
    pages: Vec<Timed>,
}

/// The pages timed: label, path, target p95 (ms).
fn pages(residents: usize) -> Vec<(&'static str, String, Option<f64>)> {
    // Rows of `roll_bench::synthetic_roll`: EPIC DLX{i:07}; its names come
    // from `GIVEN` / `FAMILY`; roll residents get the registry's eHealth
    // IDs in import order.
    let row = residents / 3;
    let health = ehcard_core::HealthId::registry(row as u64).map(|h| h.compact()).unwrap_or_default();
    let q = |s: &str| format!("/console/search?q={}", encode(s));
    vec![
        ("GET /healthz (baseline)", "/healthz".to_string(), None),
        ("GET /console (dashboard)", "/console".to_string(), Some(500.0)),
        ("search: English name prefix \"Sur\"", q("Sur"), Some(200.0)),
        ("search: English full name", q("Kavita Sharma"), Some(200.0)),
        ("search: Devanagari name \"राम\"", q("राम"), Some(200.0)),
        ("search: phone 9876500011", q("9876500011"), Some(200.0)),
        ("search: voter id (EPIC)", q(&format!("DLX{row:07}")), Some(200.0)),
        ("search: eHealth ID (redirects to the record)", q(&health), Some(200.0)),
        ("  the record it redirects to", FOLLOW.to_string(), None),
    ]
}

/// Milliseconds, to two figures below one.
fn t(ms: f64) -> String {
    if ms < 1.0 { format!("{ms:.2}") } else { format!("{ms:.1}") }
}

/// In [`pages`]: the page the previous one redirected to.
const FOLLOW: &str = "(redirect)";

/// Percent-encode a query value.
pub fn encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn run_store(db: &str, dir: &Path, roll: &Path, residents: usize, requests: usize) -> Result<Figures> {
    admin(db, &["migrate"], &[])?;
    eprintln!("building a registry of {residents} residents (import-roll)…");
    let (summary, import_wall) = import(db, roll)?;
    eprintln!(
        "  imported {} residents, {} households, {} pending duplicate pairs in {import_wall:.0} s",
        summary["added"], summary["households_added"], summary["new_duplicate_pairs"]
    );
    // Tablets: 40 awaiting provisioning across the wards, one revoked.
    for w in 0..40u16 {
        admin(db, &["device", "add", "--ward", &(1 + w * 6).to_string(), "--label", &format!("Bench {w}")], &[])?;
    }
    let lost = admin(db, &["device", "add", "--ward", "7", "--label", "Lost", "--json"], &[])?;
    let lost: serde_json::Value = serde_json::from_str(&lost)?;
    admin(db, &["device", "revoke", lost["device"]["id"].as_str().context("device id")?], &[])?;
    admin(db, &["user", "add", "bench", "--role", "viewer"], &[("EHCARD_PASSWORD", PASSWORD)])?;

    let server = ServerProc::start(db, dir)?;
    let browser = Browser::sign_in(&server.url, "bench")?;
    let mut timed = Vec::new();
    for (label, path, _) in pages(residents) {
        eprintln!("timing {label}…");
        let path = if path == FOLLOW {
            timed.last().and_then(|p: &Timed| p.location.clone()).unwrap_or_else(|| "/console/none".into())
        } else {
            path
        };
        timed.push(time_page(&browser, &path, 5, requests)?);
    }
    Ok(Figures { import_wall, summary, pages: timed })
}

pub fn console_bench(residents: usize, stores: &str, requests: usize) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let roll = tmp.path().join("roll.csv");
    std::fs::write(&roll, crate::roll_bench::synthetic_roll(residents, 2026))?;
    println!(
        "ehcard-bench console: the console's pages at {residents} residents (250 wards), {requests} requests each \
         after 5 warm-up, release build, {} cores",
        crate::num_cpus()
    );
    let mut columns: Vec<(&str, Figures)> = Vec::new();
    if stores == "both" || stores == "postgres" {
        eprintln!("PostgreSQL (a throw-away cluster)…");
        let cluster = pg::PgCluster::start();
        columns.push(("PostgreSQL", run_store(&cluster.url(), tmp.path(), &roll, residents, requests)?));
    }
    if stores == "both" || stores == "sqlite" {
        eprintln!("SQLite…");
        let db = format!("sqlite://{}", tmp.path().join("registry.db").display());
        columns.push(("SQLite", run_store(&db, tmp.path(), &roll, residents, requests)?));
    }
    if columns.is_empty() {
        bail!("--stores {stores:?}: use postgres, sqlite or both");
    }
    println!();
    println!("times in ms over keep-alive HTTP on loopback; x = p50 over the baseline's p50 (GET /healthz)");
    let table = crate::Table::new(&columns, 46);
    let row = |label: &str, target: &str, v: &dyn Fn(&Figures) -> String| table.row(label, target, v);
    row("registry: residents / households (k)", "", &|f| {
        let k = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0) / 1000.0;
        format!("{:.0}/{:.0}", k(&f.summary["added"]), k(&f.summary["households_added"]))
    });
    row("registry: pending duplicate pairs", "", &|f| f.summary["new_duplicate_pairs"].to_string());
    row("building it: import-roll wall time (s)", "", &|f| format!("{:.0}", f.import_wall));
    let base = |f: &Figures| f.pages.first().map(|p| p.pct(0.5)).unwrap_or(0.0).max(1e-3);
    for (i, (label, _, target)) in pages(residents).into_iter().enumerate() {
        let target_ms = target.map(|t| format!("p95 <= {t:.0}")).unwrap_or_default();
        row(label, "", &|f| {
            let p = &f.pages[i];
            match p.status {
                200 => format!("{:.1} KB", p.bytes as f64 / 1024.0),
                s if p.ok() => format!("HTTP {s}"),
                s => format!("HTTP {s} (!)"),
            }
        });
        row("  p50 / p95", &target_ms, &|f| {
            let p = &f.pages[i];
            if p.ok() { format!("{}/{}", t(p.pct(0.5)), t(p.pct(0.95))) } else { "-".into() }
        });
        row("  max / first (cold)", "", &|f| {
            let p = &f.pages[i];
            if p.ok() { format!("{}/{}", t(p.max()), t(crate::ms(p.first))) } else { "-".into() }
        });
        if i > 0 {
            row("  x baseline (p50)", "", &|f| {
                let p = &f.pages[i];
                if p.ok() { format!("{:.0}x", p.pct(0.5) / base(f)) } else { "-".into() }
            });
        }
    }
    let missing: Vec<&str> = pages(residents)
        .iter()
        .enumerate()
        .filter(|(i, _)| columns.iter().any(|(_, f)| f.pages[*i].status == 404))
        .map(|(_, (l, _, _))| *l)
        .collect();
    if !missing.is_empty() {
        println!("(404: not built yet in this server: {})", missing.join("; "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_sign_in_forms_csrf_field_is_found() {
        let html = r#"<form><input type="hidden" name="csrf" value="abc123"><input name="next"></form>"#;
        assert_eq!(super::csrf_field(html).as_deref(), Some("abc123"));
        assert_eq!(super::encode("राम a"), "%E0%A4%B0%E0%A4%BE%E0%A4%AE%20a");
    }
}
