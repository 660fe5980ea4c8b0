//! Killing the process mid-write leaves a store that opens and holds every
//! committed record.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::support::{Cli, resident};

#[test]
fn kill_9_during_import_leaves_every_committed_record() {
    let cli = Cli::init();
    // Committed before the crash.
    let first = cli.json(&["enroll", "--json-out", &resident(999_999).to_string()]);
    let id = first["id"].as_str().unwrap().to_string();

    let n = 3000;
    let path = cli.data().join("big.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for i in 0..n {
            writeln!(f, "{}", resident(i)).unwrap();
        }
    }
    let mut child = cli
        .command(&["import", path.to_str().unwrap()])
        .env("EHCARD_PROGRESS", "plain")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the import to be under way (its first progress line), then kill it.
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut started = false;
    for line in lines.by_ref() {
        if line.unwrap().starts_with("progress importing") {
            started = true;
            break;
        }
    }
    assert!(started, "the import never reported progress");
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());

    // The store opens; the committed record is there; the import is all or nothing.
    let count = cli.residents();
    assert!(count == 1 || count == 1 + n as u64, "half an import survived: {count}");
    assert_eq!(cli.json(&["show", &id, "--json"])["given_name"], "Person999999");
    // And it still takes writes.
    cli.ok(&["import", path.to_str().unwrap()]);
    assert_eq!(cli.residents(), 1 + n as u64);
}
