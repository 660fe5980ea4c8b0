//! Cards end to end: a provisioned tablet prints a signed card to PDF, and
//! verifiers check it offline (from the PDF, a scan, or the QR text) against
//! the registry's trust list, including after the tablet is revoked.

use std::process::Command;

use crate::support::{Backend, Server, Tablet, resident};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_printed_card_verifies_offline_until_its_tablet_is_revoked() {
    let server = Server::start(Backend::sqlite());
    let a = Tablet::provision(&server, "12", "tablet A");
    let b = Tablet::provision(&server, "12", "tablet B");
    let mut r = resident(7, 12);
    r["name_hi"] = "श्रीमती क्षमा द्विवेदी".into();
    r["consent"] = serde_json::json!({"share_clinical_on_card": false});
    let enrolled = a.json(&["enroll", "--json-out", &r.to_string()]);
    let hid = enrolled["health_id"].as_str().unwrap().to_string();
    a.sync();
    b.sync();

    // Print, then verify the PDF itself, a 150 dpi scan of it, and its QR text.
    let pdf = a.dir.path().join("card.pdf");
    a.ok(&["card", &hid, "--out", pdf.to_str().unwrap()]);
    let out = b.run(&["verify", pdf.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["card"]["health_id"], hid.as_str());
    assert_eq!(v["card"]["name_hi"], "श्रीमती क्षमा द्विवेदी");
    assert!(v["card"]["clinical"].is_null(), "no consent, no clinical summary");
    let prefix = a.dir.path().join("scan");
    let st = Command::new("pdftoppm").args(["-r", "150", "-png"]).arg(&pdf).arg(&prefix).status().unwrap();
    assert!(st.success());
    let back = a.dir.path().join("scan-2.png");
    // QR codes only: with every symbology on, zbar may also report a
    // spurious 1D barcode in the card's text, on a line of its own.
    let zbar = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(&back)
        .output()
        .unwrap()
        .stdout;
    let text = String::from_utf8(zbar).unwrap().trim().to_string();
    assert!(text.len() > 100, "zbarimg read no QR from the 150 dpi scan");
    let out = b.run(&["verify", back.to_str().unwrap()]);
    assert!(out.status.success() && stdout(&out).contains("VALID"), "{}", stdout(&out));
    // The Hindi name is text in the PDF, not just shapes.
    let txt = Command::new("pdftotext").arg(&pdf).arg("-").output().unwrap();
    assert!(String::from_utf8_lossy(&txt.stdout).contains("श्रीमती क्षमा द्विवेदी"));

    // One character changed: INVALID, exit code 8.
    let mut bad: Vec<char> = text.chars().collect();
    let i = bad.len() / 2;
    bad[i] = if bad[i] == 'A' { 'B' } else { 'A' };
    let bad: String = bad.into_iter().collect();
    let out = b.run(&["verify", &bad]);
    assert_eq!(out.status.code(), Some(8));
    assert!(stdout(&out).contains("INVALID"), "{}", stdout(&out));

    // A verifier with only the trust list and the registry key, no store.
    let signed = server.admin_json(&["trust-list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(signed["list"].as_str().unwrap()).unwrap();
    let registry_key =
        list["entries"].as_array().unwrap().iter().find(|e| e["role"] == "registry").unwrap()["public_key"]
            .as_str()
            .unwrap()
            .to_string();
    let trust = a.dir.path().join("trust.json");
    std::fs::write(&trust, signed.to_string()).unwrap();
    let out = Command::new(crate::support::bin("ehcard"))
        .args([
            "--data",
            "/nonexistent",
            "verify",
            &text,
            "--trust",
            trust.to_str().unwrap(),
            "--registry-key",
            &registry_key,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));

    // Tablet A is revoked; it prints another card, not knowing. Tablet B
    // learns of the revocation at its next sync: the new card is refused,
    // the one printed before the revocation still holds.
    let out = server.admin(&["device", "revoke", &a.device_id]);
    assert!(out.status.success());
    let later = a.dir.path().join("after.pdf");
    a.ok(&["card", &hid, "--out", later.to_str().unwrap()]);
    b.sync();
    let out = b.run(&["verify", later.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(8), "{}", stdout(&out));
    assert!(stdout(&out).contains("revoked key"), "{}", stdout(&out));
    let out = b.run(&["verify", &text]);
    assert!(out.status.success(), "the card printed before the revocation: {}", stdout(&out));

    // The registry prints the permanent card with its own key; it verifies.
    let permanent = a.dir.path().join("permanent.pdf");
    let id = enrolled["id"].as_str().unwrap();
    let out = server.admin(&["card", id, "--out", permanent.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = b.run(&["verify", permanent.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["issue"]["kind"], "permanent");
    assert_eq!(v["signer"], "registry");
    assert!(v["issue"]["expires_at"].is_null());
}
