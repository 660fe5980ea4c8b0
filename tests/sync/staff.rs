//! Staff accounts for the console: added with a memory-hard hash, listed
//! without it, refused when the input is bad, disabled, and audited.

use std::process::Command;

use crate::both;
use crate::support::{Backend, bin};

fn admin(backend: &Backend, args: &[&str], password: Option<&str>) -> std::process::Output {
    let mut c = Command::new(bin("ehcard-server"));
    c.arg("--db").arg(backend.url()).args(args).stdin(std::process::Stdio::null());
    match password {
        Some(p) => c.env("EHCARD_PASSWORD", p),
        None => c.env_remove("EHCARD_PASSWORD"),
    };
    c.output().unwrap()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

both!(staff_accounts_are_added_listed_refused_and_disabled);
fn staff_accounts_are_added_listed_refused_and_disabled(backend: std::sync::Arc<Backend>) {
    let b = &*backend;
    let out = admin(b, &["user", "add", "asha.review", "--role", "reviewer"], Some("a long reviewer password"));
    assert!(out.status.success(), "{}", err(&out));
    // Bad input: each refused with a reason, nothing added.
    for (args, pw, says) in [
        (vec!["user", "add", "asha.review", "--role", "viewer"], Some("another long password"), "already"),
        (vec!["user", "add", "ravi", "--role", "root"], Some("a long enough password"), "--role"),
        (vec!["user", "add", "ravi", "--role", "viewer"], Some("short"), "at least 12"),
        (vec!["user", "add", "<b>x</b>", "--role", "viewer"], Some("a long enough password"), "staff name"),
        (vec!["user", "add", "ravi", "--role", "viewer"], None, "EHCARD_PASSWORD"),
    ] {
        let out = admin(b, &args, pw);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(err(&out).contains(says), "{args:?}: {}", err(&out));
    }
    let list: serde_json::Value = serde_json::from_slice(&admin(b, &["user", "list", "--json"], None).stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "asha.review");
    assert_eq!(list[0]["role"], "reviewer");
    assert!(list[0].get("password_hash").is_none(), "the hash is never printed");
    let text = String::from_utf8_lossy(&admin(b, &["user", "list", "--json"], None).stdout).into_owned();
    assert!(!text.contains("argon2") && !text.contains("reviewer password"));

    let out = admin(b, &["user", "disable", "asha.review"], None);
    assert!(out.status.success(), "{}", err(&out));
    let list: serde_json::Value = serde_json::from_slice(&admin(b, &["user", "list", "--json"], None).stdout).unwrap();
    assert!(list[0]["disabled_at"].is_i64());
    let out = admin(b, &["user", "disable", "nobody"], None);
    assert!(!out.status.success());

    let log: serde_json::Value = serde_json::from_slice(&admin(b, &["audit", "--json"], None).stdout).unwrap();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["user_disable", "user_add"]);
}
