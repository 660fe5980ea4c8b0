//! Faults: a server killed mid-push, a connection cut mid-response, and
//! twenty tablets at once. Each ends with the exact count and no duplicates.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::both;
use crate::support::{Backend, Server, Tablet, count, resident};

/// kill -9 of the server during a push, then resume: exact count, no duplicates.
fn kill_9_server_during_push_then_resume(backend: Arc<Backend>) {
    let mut server = Server::start(backend);
    let a = Tablet::provision(&server, "12", "tablet A");
    let n = 3000;
    a.import(&(0..n).map(|i| resident(i, 12)).collect::<Vec<_>>());
    let mut child = a
        .command(&["sync"])
        .env("EHCARD_PROGRESS", "plain")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server once the first batch has been confirmed.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut confirmed = 0u64;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("progress sending ") {
            confirmed = rest.split('/').next().unwrap().parse().unwrap();
            if confirmed > 0 {
                break;
            }
        }
    }
    assert!(confirmed > 0 && confirmed < 2 * n as u64, "the push was not under way: {confirmed}");
    server.kill9();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(5), "the interrupted sync must fail as a network failure: {rest:?}");
    assert!(!rest.iter().any(|l| l.contains("complete")));

    server.restart();
    let s = a.sync();
    assert_eq!(s["complete"], true, "{s}");
    assert!(s["pushed"].as_u64().unwrap() <= 2 * n as u64 - confirmed, "re-sent what was confirmed: {s}");
    let stats = server.stats();
    assert_eq!(count(&stats, "residents"), n as i64);
    assert_eq!(count(&stats, "households"), n as i64);
    assert_eq!(count(&stats, "feed_entries"), 2 * n as i64, "a record was merged twice");
    assert_eq!(a.sync()["pushed"], 0);
}
both!(kill_9_server_during_push_then_resume);

/// A proxy that passes everything but cuts the connection in the middle of
/// the `cut_response`-th response it relays (once).
struct CuttingProxy {
    port: u16,
    cut: Arc<AtomicUsize>,
}

impl CuttingProxy {
    fn start(upstream: u16, cut_response: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let cut = Arc::new(AtomicUsize::new(0));
        let (seen2, cut2) = (seen.clone(), cut.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else { continue };
                let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_read, &mut s_write);
                    let _ = s_write.shutdown(Shutdown::Write);
                });
                let (seen, cut) = (seen2.clone(), cut2.clone());
                std::thread::spawn(move || relay_and_cut(server, client, &seen, &cut, cut_response));
            }
        });
        CuttingProxy { port, cut }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn relay_and_cut(mut from: TcpStream, mut to: TcpStream, seen: &AtomicUsize, cut: &AtomicUsize, cut_response: usize) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = &buf[..n];
        // A new response starts with its status line.
        if chunk.starts_with(b"HTTP/1.1 ") {
            let k = seen.fetch_add(1, Ordering::SeqCst) + 1;
            if k == cut_response && cut.fetch_add(1, Ordering::SeqCst) == 0 {
                let _ = to.write_all(&chunk[..chunk.len().min(40)]);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
        if to.write_all(chunk).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// The connection drops mid-response after the server committed a batch:
/// the next sync re-sends it, the server finds nothing new, counts are exact.
fn connection_dropped_mid_response(backend: Arc<Backend>) {
    let server = Server::start(backend);
    // Responses through the proxy: 1 provision, 2 the first push batch.
    let proxy = CuttingProxy::start(server.port, 2);
    let a = Tablet::provision_at(&server, &proxy.url(), "12", "tablet behind a bad network");
    let n = 600;
    a.import(&(0..n).map(|i| resident(i, 12)).collect::<Vec<_>>());
    let out = a.run(&["sync"]);
    assert_eq!(proxy.cut.load(Ordering::SeqCst), 1, "the proxy never cut a response");
    assert_eq!(out.status.code(), Some(5), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("connection broke") || err.contains("no network"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("complete"));
    // The server did merge that batch.
    let merged_before = count(&server.stats(), "feed_entries");
    assert!(merged_before > 0);
    let s = a.sync();
    assert_eq!(s["complete"], true);
    assert!(s["unchanged"].as_u64().unwrap() > 0, "the cut batch was re-sent and found unchanged: {s}");
    let stats = server.stats();
    assert_eq!(count(&stats, "residents"), n as i64);
    assert_eq!(count(&stats, "feed_entries"), 2 * n as i64);
}
both!(connection_dropped_mid_response);

/// Twenty tablets sync at once; every record arrives once, and every tablet
/// ends up with the whole ward.
fn twenty_tablets_at_once(backend: Arc<Backend>) {
    let server = Server::start(backend);
    let per = 50;
    let tablets: Vec<Tablet> = (0..20)
        .map(|t| {
            let tab = Tablet::provision(&server, "12", &format!("tablet {t}"));
            tab.import(&(0..per).map(|i| resident(t * 1000 + i, 12)).collect::<Vec<_>>());
            tab
        })
        .collect();
    let children: Vec<_> = tablets
        .iter()
        .map(|t| t.command(&["sync", "--json"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let stats = server.stats();
    assert_eq!(count(&stats, "residents"), 20 * per as i64);
    assert_eq!(count(&stats, "feed_entries"), 2 * 20 * per as i64);
    for t in &tablets {
        t.sync();
        assert_eq!(t.json(&["stats", "--json"])["residents"], 20 * per as u64);
    }
}
both!(twenty_tablets_at_once);
