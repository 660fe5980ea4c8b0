//! Running `ehcard` as a subprocess on a temporary data directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASS: &str = "field passphrase 1";

pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace` (or `cargo nextest run --workspace`)",
        path.display()
    );
    path
}

pub struct Cli {
    pub dir: tempfile::TempDir,
}

impl Cli {
    /// A data directory with an initialised store (device 7).
    pub fn init() -> Cli {
        let cli = Cli { dir: tempfile::tempdir().expect("tempdir") };
        let out = cli.run(&["init", "--device-number", "7", "--label", "test tablet"]);
        assert!(out.status.success(), "init failed: {}", String::from_utf8_lossy(&out.stderr));
        cli
    }

    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("ehcard"));
        c.arg("--data").arg(self.data()).args(args);
        c.env("EHCARD_PASSPHRASE", PASS).env("EHCARD_WORKER", "tester").env_remove("EHCARD_LANG");
        c.stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run ehcard")
    }

    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ehcard");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait for ehcard")
    }

    /// Run and insist on success; stdout as text.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ehcard {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("JSON output")
    }

    pub fn residents(&self) -> u64 {
        self.json(&["stats", "--json"])["residents"].as_u64().expect("residents count")
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A valid resident line with a distinct name, phone and voter id.
pub fn resident(i: usize) -> serde_json::Value {
    serde_json::json!({
        "given_name": format!("Person{i}"), "family_name": "Verma", "name_hi": "व्यक्ति वर्मा",
        "sex": if i.is_multiple_of(2) { "female" } else { "male" }, "birth_year": 1950 + (i % 60),
        "phone": format!("9{:09}", i), "voter_id": format!("VRM{:07}", i),
        "address": {"house": format!("{}", i % 300), "street": "Main Road", "ward": 1 + (i % 3)}
    })
}
