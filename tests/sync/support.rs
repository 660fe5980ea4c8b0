//! A server process, tablets, and signed raw requests.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;

use chrono::NaiveDate;
use ehcard_core::doc::{Origin, RecordDoc};
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{EditContext, RecordId, SeededEntropy};
use ehcard_sync::codec;
use ehcard_sync::wire::ErrorBody;
use serde_json::Value;

use crate::pg::PgCluster;

pub const PASS: &str = "tablet passphrase";

pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(path.exists(), "{} is not built: run `cargo build --workspace --bins`", path.display());
    path
}

/// Where the registry keeps its data.
pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(PgCluster),
}

impl Backend {
    pub fn sqlite() -> Arc<Backend> {
        Arc::new(Backend::Sqlite(tempfile::tempdir().unwrap()))
    }

    pub fn postgres() -> Arc<Backend> {
        Arc::new(Backend::Postgres(PgCluster::start()))
    }

    pub fn url(&self) -> String {
        match self {
            Backend::Sqlite(dir) => format!("sqlite://{}", dir.path().join("registry.db").display()),
            Backend::Postgres(c) => c.url(),
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `ehcard-server`.
pub struct Server {
    pub backend: Arc<Backend>,
    pub port: u16,
    /// `--tls-cert`, `--tls-key` when serving HTTPS.
    tls: Option<(PathBuf, PathBuf)>,
    child: Option<Child>,
    pub log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Server {
    pub fn start(backend: Arc<Backend>) -> Server {
        Server::start_with(backend, None)
    }

    pub fn start_tls(backend: Arc<Backend>, cert: &Path, key: &Path) -> Server {
        Server::start_with(backend, Some((cert.to_path_buf(), key.to_path_buf())))
    }

    fn start_with(backend: Arc<Backend>, tls: Option<(PathBuf, PathBuf)>) -> Server {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("server.log");
        let mut s = Server { backend, port: free_port(), tls, child: None, log, _logdir: logdir };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(bin("ehcard-server"));
        cmd.args(["--db", &self.backend.url(), "serve", "--listen", &format!("127.0.0.1:{}", self.port)]);
        if let Some((cert, key)) = &self.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // Ready when it says it is listening; keep its log in a file.
        let stderr = child.stderr.take().unwrap();
        let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let mut ready = false;
        for line in lines.by_ref() {
            let line = line.unwrap();
            writeln!(log, "{line}").unwrap();
            if line.contains("listening on") {
                ready = true;
                break;
            }
        }
        assert!(ready, "the server did not start: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = writeln!(log, "{line}");
            }
        });
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        match self.tls {
            Some(_) => format!("https://localhost:{}", self.port),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn admin(&self, args: &[&str]) -> Output {
        Command::new(bin("ehcard-server")).arg("--db").arg(self.backend.url()).args(args).output().unwrap()
    }

    pub fn admin_json(&self, args: &[&str]) -> Value {
        let out = self.admin(args);
        assert!(out.status.success(), "ehcard-server {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Add a device for `wards`; its id and one-time code.
    pub fn add_device(&self, wards: &str, label: &str) -> (String, String) {
        let v = self.admin_json(&["device", "add", "--ward", wards, "--label", label, "--json"]);
        (v["device"]["id"].as_str().unwrap().to_string(), v["code"].as_str().unwrap().to_string())
    }

    pub fn stats(&self) -> Value {
        self.admin_json(&["stats", "--json"])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A provisioned tablet: the `ehcard` binary on its own data directory.
pub struct Tablet {
    pub dir: tempfile::TempDir,
    pub device_id: String,
}

impl Tablet {
    pub fn provision(server: &Server, wards: &str, label: &str) -> Tablet {
        Tablet::provision_at(server, &server.url(), wards, label)
    }

    /// Provision, reaching the server at `url` (a proxy, say).
    pub fn provision_at(server: &Server, url: &str, wards: &str, label: &str) -> Tablet {
        let (device_id, code) = server.add_device(wards, label);
        let t = Tablet { dir: tempfile::tempdir().unwrap(), device_id };
        t.ok(&["init", "--server", url, "--code", &code]);
        t
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("ehcard"));
        c.arg("--data").arg(self.dir.path()).args(args);
        c.env("EHCARD_PASSPHRASE", PASS).env("EHCARD_WORKER", "tester").env_remove("EHCARD_LANG");
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ehcard {args:?} failed ({:?}):\n{}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    pub fn sync(&self) -> Value {
        self.json(&["sync", "--json"])
    }

    /// Write residents to a JSON Lines file in the tablet's directory and import it.
    pub fn import(&self, lines: &[Value]) {
        let path = self.dir.path().join(format!("import-{}.jsonl", lines.len()));
        let mut f = std::fs::File::create(&path).unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        self.ok(&["import", path.to_str().unwrap()]);
    }
}

pub fn resident(i: usize, ward: u16) -> Value {
    serde_json::json!({
        "given_name": format!("Person{i}"), "family_name": "Verma", "name_hi": "व्यक्ति वर्मा",
        "sex": if i.is_multiple_of(2) { "female" } else { "male" }, "birth_year": 1950 + (i % 60),
        "phone": format!("9{:09}", i), "voter_id": format!("VRM{:07}", i),
        "address": {"house": format!("{}", i % 300), "street": "Main Road", "ward": ward}
    })
}

/// A tablet made by hand: its own key, raw signed requests.
pub struct RawTablet {
    pub key: Vec<u8>,
    pub device_id: String,
    pub agent: ureq::Agent,
    pub base: String,
}

pub struct RawResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn error(&self) -> ErrorBody {
        codec::decode(&self.body).unwrap_or_else(|e| panic!("status {}: not an error body: {e}", self.status))
    }
}

impl RawTablet {
    pub fn provision(server: &Server, wards: &str) -> RawTablet {
        let (_, code) = server.add_device(wards, "raw");
        let key = ehcard_sync::auth::generate_key().unwrap();
        let public_key = ehcard_sync::auth::public_key(&key).unwrap();
        let agent = ureq::Agent::new_with_config(ureq::Agent::config_builder().http_status_as_error(false).build());
        let mut t = RawTablet { key, device_id: String::new(), agent, base: server.url() };
        let body = codec::encode(&ehcard_sync::wire::ProvisionRequest { code, public_key });
        let r = t.post_unsigned("/v1/provision", body);
        assert_eq!(r.status, 200);
        let p: ehcard_sync::wire::ProvisionResponse = codec::decode(&r.body).unwrap();
        t.device_id = p.device_id;
        t
    }

    pub fn post_unsigned(&self, path: &str, body: Vec<u8>) -> RawResponse {
        let mut resp = self.agent.post(format!("{}{path}", self.base)).send(&body[..]).unwrap();
        RawResponse { status: resp.status().as_u16(), body: resp.body_mut().read_to_vec().unwrap() }
    }

    /// Sign `body` as sent at `time` and post it; also returns the headers so
    /// a test can replay them.
    pub fn post_signed_at(&self, path: &str, body: Vec<u8>, time: i64) -> (RawResponse, Vec<(&'static str, String)>) {
        let signed = ehcard_sync::auth::sign(&self.key, &self.device_id, "POST", path, time, &body).unwrap();
        let headers = signed.headers().to_vec();
        (self.post_with(path, body, &headers), headers)
    }

    pub fn post_signed(&self, path: &str, body: Vec<u8>) -> RawResponse {
        self.post_signed_at(path, body, chrono::Utc::now().timestamp()).0
    }

    pub fn post_with(&self, path: &str, body: Vec<u8>, headers: &[(&'static str, String)]) -> RawResponse {
        let mut req = self.agent.post(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let mut resp = req.send(&body[..]).unwrap();
        RawResponse { status: resp.status().as_u16(), body: resp.body_mut().read_to_vec().unwrap() }
    }
}

/// A saved resident document in `ward` (as a tablet would push it).
pub fn resident_doc(seed: u64, ward: u16) -> (RecordId, Vec<u8>) {
    let v = resident(seed as usize, ward);
    let input = parse_input(RecordKind::Resident, &v, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).unwrap();
    let mut e = SeededEntropy::new(seed);
    let id = RecordId::new_v7(1_790_000_000_000 + seed, &mut e);
    let origin = Origin {
        id,
        health_id: None,
        enrolled_by: "raw".into(),
        enrolled_device: None,
        enrolled_at: chrono::Utc::now(),
    };
    let ctx = EditContext::new(chrono::Utc::now(), "raw");
    let mut doc = RecordDoc::create(
        RecordKind::Resident,
        &origin,
        &input.fields,
        &automerge::ActorId::from([seed as u8; 16]),
        &ctx,
    )
    .unwrap();
    (id, doc.save())
}

pub fn push_body(docs: &[(RecordId, Vec<u8>)]) -> Vec<u8> {
    codec::encode(&ehcard_sync::wire::PushRequest {
        records: docs
            .iter()
            .map(|(id, bytes)| ehcard_sync::wire::PushRecord { id: id.to_string(), changes: bytes.clone() })
            .collect(),
    })
}

pub fn count(stats: &Value, key: &str) -> i64 {
    stats[key].as_i64().unwrap()
}
