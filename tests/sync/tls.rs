//! HTTPS: the server serves TLS (rustls); the tablet verifies the
//! certificate and refuses one it cannot trust.

use std::process::Command;

use crate::support::{Backend, Server, Tablet};

#[test]
fn a_tablet_verifies_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    // A private certificate authority and a server certificate it signed.
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl").args(args).output().expect("openssl is installed by scripts/setup.sh");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &["-days", "2", "-subj", "/CN=ehcard test registry CA", "-keyout", &p("ca.key"), "-out", &p("ca.pem")],
        ]
        .concat(),
    );
    openssl(
        &[&["req"], &ec[..], &["-subj", "/CN=localhost", "-keyout", &p("key.pem"), "-out", &p("server.csr")]].concat(),
    );
    std::fs::write(
        dir.path().join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("cert.pem"),
    ]);
    let (cert, key, ca) = (dir.path().join("cert.pem"), dir.path().join("key.pem"), p("ca.pem"));
    let server = Server::start_tls(Backend::sqlite(), &cert, &key);
    let url = server.url();
    assert!(url.starts_with("https://"));

    // Without the registry's certificate the tablet refuses the connection,
    // and nothing is created.
    let (_, code) = server.add_device("12", "tls tablet");
    let untrusting = Tablet { dir: tempfile::tempdir().unwrap(), device_id: String::new() };
    let out = untrusting.run(&["init", "--server", &url, "--code", &code]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(err.contains("certificate is not trusted") && err.contains("--ca"), "{err}");
    assert!(!untrusting.dir.path().join("ehcard.key").exists(), "a store was created");

    // With it, provisioning and sync work over HTTPS.
    let t = Tablet { dir: tempfile::tempdir().unwrap(), device_id: String::new() };
    t.ok(&["init", "--server", &url, "--code", &code, "--ca", &ca]);
    t.ok(&["enroll", &crate::support::resident(1, 12).to_string()]);
    assert_eq!(t.sync()["complete"], true);
    assert_eq!(server.stats()["residents"], 1);
}
