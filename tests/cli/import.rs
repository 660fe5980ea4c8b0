//! Bulk import: atomic, every bad line reported with its number.

use std::io::Write;

use crate::support::{Cli, resident, stderr};

fn write_lines(cli: &Cli, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = cli.data().join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    path
}

#[test]
fn one_bad_line_imports_nothing_and_every_bad_line_is_reported() {
    let cli = Cli::init();
    let mut lines: Vec<String> = (0..10).map(|i| resident(i).to_string()).collect();
    let mut bad_phone = resident(100);
    bad_phone["phone"] = "12345".into();
    lines[3] = bad_phone.to_string(); // line 4
    lines[6] = "{\"given_name\": \"Cut off".into(); // line 7: truncated
    let mut dup = resident(0);
    dup["id"] = "01a0c450-6c00-7699-b7ca-ad8d6837074f".into();
    lines.push(dup.to_string()); // line 11
    lines.push(dup.to_string()); // line 12: same id again
    let file = write_lines(&cli, "bad.jsonl", &lines);

    let out = cli.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    let err = stderr(&out);
    assert!(err.contains("3 bad line(s); nothing was imported"), "{err}");
    assert!(err.contains("line 4: phone: must be 10 digits starting with 6-9"), "{err}");
    assert!(err.contains("line 7: (record): is not valid JSON"), "{err}");
    assert!(err.contains("line 12: id: is already used"), "{err}");
    assert!(!err.contains("line 11:"), "{err}");
    assert_eq!(cli.residents(), 0, "nothing imported");

    // --skip-invalid imports the rest and sets the bad lines aside.
    let rejects = cli.data().join("rejects.jsonl");
    let out = cli.ok(&["import", file.to_str().unwrap(), "--skip-invalid", rejects.to_str().unwrap()]);
    assert!(out.contains("imported 9 record(s)"), "{out}");
    assert_eq!(cli.residents(), 9);
    let rejected: Vec<serde_json::Value> =
        std::fs::read_to_string(&rejects).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lines_seen: Vec<u64> = rejected.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines_seen, [4, 7, 12]);
    assert_eq!(rejected[0]["errors"][0]["code"], "phone");
    assert_eq!(rejected[0]["record"]["given_name"], "Person100");

    // Importing the same good lines again is refused: their ids exist now.
    let out = cli.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(cli.residents(), 9);
}

#[test]
fn an_empty_or_missing_file() {
    let cli = Cli::init();
    let empty = write_lines(&cli, "empty.jsonl", &[]);
    assert!(cli.ok(&["import", empty.to_str().unwrap()]).contains("imported 0 record(s)"));
    let out = cli.run(&["import", "/nonexistent/file.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot open /nonexistent/file.jsonl"));
}
