//! `ehcard-bench sync`: the sync workloads W1-W4 against the real
//! `ehcard-server` binary on loopback, on SQLite and on PostgreSQL, figures
//! side by side. Tablets are real encrypted stores driven by the same engine
//! and HTTP transport as `ehcard sync`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};
use ehcard_core::doc::Edit;
use ehcard_core::model::{FieldValue, Input, RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, SeededEntropy};
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, Provisioning, Store};
use ehcard_sync::client::{self, Transport, TransportError};
use ehcard_sync::http::Http;
use serde_json::{Value, json};

#[path = "../../../tests/sync/pg.rs"]
mod pg;

fn bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("no bin dir")?.join(name);
    if !p.exists() {
        bail!("{} is not built: cargo build --release -p ehcard-server", p.display());
    }
    Ok(p)
}

struct ServerProc {
    child: Child,
    url: String,
    db: String,
}

impl ServerProc {
    fn start(db: &str) -> Result<ServerProc> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new(bin("ehcard-server")?)
            .args(["--db", db, "serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        use std::io::BufRead;
        let stderr = child.stderr.take().context("stderr")?;
        let mut lines = std::io::BufReader::new(stderr).lines();
        for line in lines.by_ref() {
            if line?.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Ok(ServerProc { child, url: format!("http://127.0.0.1:{port}"), db: db.to_string() })
    }

    fn admin(&self, args: &[&str]) -> Result<Value> {
        let out = Command::new(bin("ehcard-server")?).arg("--db").arg(&self.db).args(args).output()?;
        if !out.status.success() {
            bail!("ehcard-server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Peak and current resident memory of the server process, in MB.
    fn rss_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A transport that records each request's latency.
struct Timed {
    inner: Http,
    latencies: Arc<Mutex<Vec<Duration>>>,
}

impl Transport for Timed {
    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Vec<u8>), TransportError> {
        let t = Instant::now();
        let r = self.inner.send(method, path, body, headers);
        if let Ok(mut l) = self.latencies.lock() {
            l.push(t.elapsed());
        }
        r
    }
}

struct Tablet {
    _dir: tempfile::TempDir,
    store: Store,
    url: String,
}

fn now() -> i64 {
    Utc::now().timestamp()
}

fn provision(server: &ServerProc, ward: u16, label: &str) -> Result<Tablet> {
    let v = server.admin(&["device", "add", "--ward", &ward.to_string(), "--label", label, "--json"])?;
    let code = v["code"].as_str().context("code")?;
    let key = ehcard_sync::auth::generate_key()?;
    let mut http = Http::new(&server.url, None)?;
    let p = client::provision(&mut http, code, ehcard_sync::auth::public_key(&key)?)?;
    let dir = tempfile::tempdir()?;
    let options = CreateOptions {
        device_number: DeviceNumber::new(p.device_number)?,
        device_label: label.into(),
        kdf_iterations: DEFAULT_ITERATIONS,
    };
    let mut store =
        Store::create(dir.path(), "bench passphrase", &options, &mut SeededEntropy::new(u64::from(p.device_number)))?;
    store.set_provisioning(&Provisioning {
        server_url: server.url.clone(),
        device_id: p.device_id,
        device_number: p.device_number,
        wards: p.wards,
        key_pkcs8_hex: hex_encode(&key),
        ca_pem: None,
        registry_public_key_hex: None,
    })?;
    Ok(Tablet { _dir: dir, store, url: server.url.clone() })
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Tablet {
    fn sync(&mut self, latencies: &Arc<Mutex<Vec<Duration>>>) -> Result<client::Summary> {
        let mut t = Timed { inner: Http::new(&self.url, None)?, latencies: latencies.clone() };
        let s = client::sync(&mut self.store, &mut t, now(), &mut |_| {})?;
        if !s.complete {
            bail!("sync incomplete: {s:?}");
        }
        Ok(s)
    }

    fn import(&mut self, first: usize, n: usize, ward: u16) -> Result<()> {
        let today = NaiveDate::from_ymd_opt(2026, 11, 28).context("date")?;
        let inputs: Vec<Input> = (first..first + n)
            .map(|i| {
                let v = json!({
                    "given_name": format!("Person{i}"), "family_name": "Verma", "name_hi": "व्यक्ति वर्मा",
                    "sex": if i.is_multiple_of(2) { "female" } else { "male" }, "birth_year": 1950 + (i % 60),
                    "phone": format!("9{:09}", i), "voter_id": format!("VRM{:07}", i), "blood_group": "A+",
                    "address": {"house": format!("{}", i % 300), "street": "Main Road", "ward": ward}
                });
                parse_input(RecordKind::Resident, &v, today).map_err(|e| anyhow::anyhow!("{e:?}"))
            })
            .collect::<Result<_>>()?;
        let ctx = EditContext::new(Utc::now(), "bench");
        self.store.import(inputs, &mut SeededEntropy::new(first as u64 + 1), &ctx, &mut |_| {})?;
        Ok(())
    }
}

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len().max(1) as f64 - 1.0) * p).round() as usize;
    v.get(i).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

#[derive(Default)]
struct Figures {
    w1_rate: f64,
    w1_docs_rate: f64,
    w1_server_share: f64,
    w2_rate: f64,
    w2_server_share: f64,
    w3_phone: usize,
    w3_street: usize,
    w3_conflicts: usize,
    w3_conflict_fields_ok: bool,
    w3_server_conflicts: i64,
    w4_arrived: i64,
    w4_secs: f64,
    w4_p50: f64,
    w4_p99: f64,
    rss_peak: f64,
    rss_now: f64,
    disk_per_record: f64,
}

fn run_store(db: &str, disk: &dyn Fn() -> Result<u64>, residents: usize, quick: bool) -> Result<Figures> {
    let server = ServerProc::start(db)?;
    let lat = Arc::new(Mutex::new(Vec::new()));
    let mut f = Figures::default();

    // W1: one tablet pushes `residents` new residents (and their households).
    let mut a = provision(&server, 12, "W1 tablet")?;
    a.import(0, residents, 12)?;
    let t = Instant::now();
    let s = a.sync(&lat)?;
    let secs = t.elapsed().as_secs_f64();
    let waited: f64 = lat.lock().map_err(|_| anyhow::anyhow!("lock"))?.iter().map(Duration::as_secs_f64).sum();
    f.w1_server_share = waited / secs;
    lat.lock().map_err(|_| anyhow::anyhow!("lock"))?.clear();
    f.w1_rate = residents as f64 / secs;
    f.w1_docs_rate = s.pushed as f64 / secs;

    // W2: a fresh tablet pulls them.
    let mut b = provision(&server, 12, "W2 tablet")?;
    let t = Instant::now();
    let s = b.sync(&lat)?;
    let secs = t.elapsed().as_secs_f64();
    f.w2_rate = residents as f64 / secs;
    let waited: f64 = lat.lock().map_err(|_| anyhow::anyhow!("lock"))?.iter().map(Duration::as_secs_f64).sum();
    f.w2_server_share = waited / secs;
    if s.created < residents as u64 {
        bail!("W2 received only {} records", s.created);
    }

    if quick {
        return Ok(f);
    }

    // W3: 1,000 shared records edited on two tablets.
    let mut c = provision(&server, 13, "W3 tablet C")?;
    let mut d = provision(&server, 13, "W3 tablet D")?;
    c.import(100_000, 1000, 13)?;
    c.sync(&lat)?;
    d.sync(&lat)?;
    let ids: Vec<ehcard_core::RecordId> = c
        .store
        .search("Person1", 5000)?
        .into_iter()
        .filter(|h| h.ward == Some(13))
        .filter_map(|h| h.id.parse().ok())
        .collect();
    if ids.len() != 1000 {
        bail!("W3 expected 1,000 shared records, found {}", ids.len());
    }
    let ctx = EditContext::new(Utc::now(), "bench");
    let text = |s: &str| FieldValue::Text(s.into());
    for (k, id) in ids.iter().enumerate() {
        let mut ec = vec![Edit::Set("phone", text("8000000001"))];
        let mut ed = vec![Edit::Set("address.street", text("Changed Street"))];
        if k < 100 {
            ec.push(Edit::Set("blood_group", text("B+")));
            ed.push(Edit::Set("blood_group", text("O-")));
        }
        c.store.edit(id, &ec, &ctx)?;
        d.store.edit(id, &ed, &ctx)?;
    }
    for _ in 0..2 {
        c.sync(&lat)?;
        d.sync(&lat)?;
    }
    c.sync(&lat)?;
    let mut fields_ok = true;
    for id in &ids {
        let rc = c.store.show(id)?;
        let rd = d.store.show(id)?;
        if rc.to_json() != rd.to_json() {
            fields_ok = false;
        }
        if rd.fields.text("phone") == Some("8000000001") {
            f.w3_phone += 1;
        }
        if rc.fields.text("address.street") == Some("Changed Street") {
            f.w3_street += 1;
        }
        if !rd.conflicts.is_empty() {
            f.w3_conflicts += 1;
            fields_ok &= rd.conflicts.len() == 1 && rd.conflicts[0].field == "blood_group";
        }
    }
    f.w3_conflict_fields_ok = fields_ok;
    f.w3_server_conflicts = server.admin(&["stats", "--json"])?["with_conflicts"].as_i64().unwrap_or(-1);

    // W4: 20 tablets push 500 residents each at the same time.
    let mut tablets = Vec::new();
    for t in 0..20 {
        let mut tab = provision(&server, 14, &format!("W4 tablet {t}"))?;
        tab.import(200_000 + t * 1000, 500, 14)?;
        tablets.push(tab);
    }
    let w4_lat = Arc::new(Mutex::new(Vec::new()));
    let t = Instant::now();
    let results: Vec<Result<()>> = std::thread::scope(|scope| {
        let handles: Vec<_> = tablets
            .iter_mut()
            .map(|tab| {
                let l = w4_lat.clone();
                scope.spawn(move || tab.sync(&l).map(|_| ()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("thread panicked")))).collect()
    });
    f.w4_secs = t.elapsed().as_secs_f64();
    for r in results {
        r?;
    }
    let stats = server.admin(&["stats", "--json"])?;
    f.w4_arrived = stats["residents_by_ward"]["14"].as_i64().unwrap_or(0);
    let mut l = w4_lat.lock().map_err(|_| anyhow::anyhow!("lock"))?.clone();
    f.w4_p50 = pct(&mut l, 0.5);
    f.w4_p99 = pct(&mut l, 0.99);

    (f.rss_peak, f.rss_now) = server.rss_mb();
    let records = stats["residents"].as_i64().unwrap_or(1) + stats["households"].as_i64().unwrap_or(0);
    f.disk_per_record = disk()? as f64 / records.max(1) as f64;
    Ok(f)
}

pub fn sync_bench(residents: usize, stores: &str, quick: bool) -> Result<()> {
    println!("ehcard-bench sync: W1/W2 {residents} residents; W3 1,000 shared; W4 20 tablets x 500 (release build)");
    let mut columns: Vec<(&str, Figures)> = Vec::new();
    if stores == "both" || stores == "sqlite" {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("registry.db");
        let db = format!("sqlite://{}", path.display());
        let disk = || -> Result<u64> {
            Ok(["", "-wal"]
                .iter()
                .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
                .map(|m| m.len())
                .sum())
        };
        eprintln!("running on SQLite…");
        columns.push(("SQLite", run_store(&db, &disk, residents, quick)?));
    }
    if stores == "both" || stores == "postgres" {
        let cluster = pg::PgCluster::start();
        let port = cluster.port();
        let disk = move || -> Result<u64> {
            let out = Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres", "-d", "ehcard", "-Atc"])
                .arg("SELECT pg_database_size('ehcard')")
                .output()?;
            Ok(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0))
        };
        eprintln!("running on PostgreSQL…");
        columns.push(("PostgreSQL", run_store(&cluster.url(), &disk, residents, quick)?));
    }
    println!();
    let table = crate::Table::new(&columns, 46);
    let row = |label: &str, target: &str, v: &dyn Fn(&Figures) -> String| table.row(label, target, v);
    row("W1 push: residents/s", ">= 3,000", &|f| format!("{:.0}", f.w1_rate));
    row("W1 push: records/s (residents + households)", "", &|f| format!("{:.0}", f.w1_docs_rate));
    row("W1 share of time waiting on the server", "", &|f| format!("{:.0}%", 100.0 * f.w1_server_share));
    row("W2 pull to a fresh tablet: residents/s", ">= 3,000", &|f| format!("{:.0}", f.w2_rate));
    row("W2 share of time waiting on the server", "", &|f| format!("{:.0}%", 100.0 * f.w2_server_share));
    row("W3 phone edits kept (of 1,000)", "1,000", &|f| f.w3_phone.to_string());
    row("W3 street edits kept (of 1,000)", "1,000", &|f| f.w3_street.to_string());
    row("W3 records in conflict on the tablets", "100", &|f| f.w3_conflicts.to_string());
    row("W3 records in conflict on the server", "100", &|f| f.w3_server_conflicts.to_string());
    row("W3 tablets identical, only blood_group", "yes", &|f| {
        if f.w3_conflict_fields_ok { "yes".into() } else { "NO".into() }
    });
    row("W4 residents arrived (of 10,000)", "10,000", &|f| f.w4_arrived.to_string());
    row("W4 wall time (s)", "", &|f| format!("{:.1}", f.w4_secs));
    row("W4 request latency p50 (ms)", "", &|f| format!("{:.1}", f.w4_p50));
    row("W4 request latency p99 (ms)", "", &|f| format!("{:.1}", f.w4_p99));
    row("server RSS peak / now (MB)", "", &|f| format!("{:.0}/{:.0}", f.rss_peak, f.rss_now));
    row("server bytes on disk per record", "", &|f| format!("{:.0}", f.disk_per_record));
    Ok(())
}
