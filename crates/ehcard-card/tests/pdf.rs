//! Printed cards: the PDF is rasterised with poppler (`pdftoppm`), the QR on
//! the back is read by zbar (`zbarimg`) and by `rqrr`, and must verify; the
//! Hindi name must come back from `pdftotext` exactly as entered.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use automerge::ActorId;
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_card::pdf::{self, CARD_HEIGHT_MM, CARD_WIDTH_MM, Layout, NAME_PT, TEXT_WIDTH_MM};
use ehcard_card::trust::{TrustEntry, TrustList, verify};
use ehcard_card::{CardData, CardKind, Issue, key_id, payload, qr};
use ehcard_core::doc::{Origin, RecordDoc};
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, HealthId, RecordId, SeededEntropy};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

const T0: i64 = 1_795_000_000;

struct Key {
    pkcs8: Vec<u8>,
    public: Vec<u8>,
}

fn key() -> Key {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap().as_ref().to_vec();
    let public = Ed25519KeyPair::from_pkcs8(&pkcs8).unwrap().public_key().as_ref().to_vec();
    Key { pkcs8, public }
}

fn trusted(k: &Key) -> TrustList {
    TrustList {
        issuer: "registry".into(),
        issued_at: T0,
        entries: vec![TrustEntry {
            kid: hex::encode(key_id(&k.public)),
            public_key: hex::encode(&k.public),
            who: "tablet 42".into(),
            role: "tablet".into(),
            valid_from: T0 - 86_400,
            valid_to: None,
            revoked_at: None,
        }],
    }
}

fn card(given: &str, family: &str, name_hi: &str, seq: u32) -> CardData {
    let v = json!({
        "given_name": given, "family_name": family, "name_hi": name_hi, "sex": "female",
        "date_of_birth": "1992-08-15", "phone": "9811122233",
        "address": {"house": "B-12", "street": "Gali 5", "locality": "Seelampur", "ward": 12, "pincode": "110053"},
        "blood_group": "B+", "allergies": ["Penicillin", "Dust"], "chronic_conditions": ["Asthma"],
        "emergency_contact": {"name": "Ram Kumar", "phone": "9811122234"},
        "consent": {"share_clinical_on_card": true}
    });
    let input = parse_input(RecordKind::Resident, &v, NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()).unwrap();
    let origin = Origin {
        id: RecordId::new_v7(1, &mut SeededEntropy::new(u64::from(seq))),
        health_id: Some(HealthId::new(DeviceNumber::new(42).unwrap(), seq).unwrap()),
        enrolled_by: "t".into(),
        enrolled_device: None,
        enrolled_at: DateTime::<Utc>::from_timestamp(T0, 0).unwrap(),
    };
    let ctx = EditContext::new(origin.enrolled_at, "t");
    let record = RecordDoc::create(RecordKind::Resident, &origin, &input.fields, &ActorId::from([1u8; 16]), &ctx)
        .unwrap()
        .read()
        .unwrap();
    CardData::from_record(&record).unwrap()
}

fn signed(k: &Key, c: CardData) -> (CardData, String, CardKind) {
    let issue = Issue {
        issuer: "https://ehcard.delhi.example".into(),
        kind: CardKind::Provisional,
        issued_at: T0,
        expires_at: Some(T0 + 365 * 86_400),
    };
    let text = payload::encode(&c, &issue, &key_id(&k.public), &k.pkcs8).unwrap();
    (c, text, CardKind::Provisional)
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e} (run scripts/setup.sh)"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Page `page` of `pdf` as a PNG at `dpi`.
fn raster(pdf: &Path, page: usize, dpi: u32) -> PathBuf {
    let dir = pdf.parent().unwrap();
    let prefix = dir.join(format!("p{page}-{dpi}"));
    let (p, r) = (page.to_string(), dpi.to_string());
    run(
        "pdftoppm",
        &["-r", &r, "-f", &p, "-l", &p, "-png", "-singlefile", pdf.to_str().unwrap(), prefix.to_str().unwrap()],
    );
    prefix.with_extension("png")
}

fn zbar(png: &Path) -> String {
    run("zbarimg", &["--raw", "-q", "-Sdisable", "-Sqrcode.enable", png.to_str().unwrap()])
        .trim_end_matches('\n')
        .to_string()
}

fn rqrr_decode(img: &image::GrayImage) -> String {
    let mut prepared = rqrr::PreparedImage::prepare(img.clone());
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    let (meta, content) = grids[0].decode().unwrap();
    assert_eq!(meta.ecc_level, 0, "error correction M");
    content
}

fn pdf_text(pdf: &Path, page: usize) -> String {
    let p = page.to_string();
    run("pdftotext", &["-f", &p, "-l", &p, "-enc", "UTF-8", pdf.to_str().unwrap(), "-"])
}

fn pages(pdf: &Path) -> usize {
    let info = run("pdfinfo", &[pdf.to_str().unwrap()]);
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line["Pages:".len()..].trim().parse().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn an_id1_card_scans_verifies_and_keeps_its_hindi_name() {
    let k = key();
    let dir = tempfile::tempdir().unwrap();
    for (i, (given, family, hi)) in
        [("Kshama", "Dwivedi", "श्रीमती क्षमा द्विवेदी"), ("Kishan", "Sharma", "किशन शर्मा")].into_iter().enumerate()
    {
        let (c, text, kind) = signed(&k, card(given, family, hi, 7 + i as u32));
        let bytes = pdf::card_pdf(&[(c.clone(), text.clone(), kind)], Layout::Id1).unwrap();
        let file = write(dir.path(), &format!("card{i}.pdf"), &bytes);
        assert_eq!(pages(&file), 2, "a front and a back");

        for dpi in [150, 300] {
            let back = raster(&file, 2, dpi);
            assert_eq!(zbar(&back), text, "zbar at {dpi} dpi");
            let decoded = rqrr_decode(&image::open(&back).unwrap().to_luma8());
            assert_eq!(decoded, text, "rqrr at {dpi} dpi");
            assert_eq!(verify(&decoded, &trusted(&k), T0 + 10).result, Ok(()));
        }

        let front = pdf_text(&file, 1);
        assert!(front.contains(hi), "{hi:?} not in the front's text:\n{front}");
        assert!(front.contains(&format!("{given} {family}")), "{front}");
        assert!(front.contains(&c.health_id), "{front}");
        assert!(front.contains("PROVISIONAL"), "{front}");
        let back = pdf_text(&file, 2);
        assert!(back.contains("B+") && back.contains("Penicillin") && back.contains("Ram Kumar"), "{back}");
    }
}

#[test]
fn a_forty_character_name_fits() {
    let given = "Venkatanarasimharajuvaripeta";
    let family = "Srinivasan";
    let en = format!("{given} {family}");
    let hi = "वेंकटनरसिंहराजुवारिपेटा श्रीनिवासन कृष्णमूर्ति";
    let hi: String = hi.chars().take(40).collect();
    let hi = hi.trim_end().to_string();
    assert!(en.chars().count() >= 39 && hi.chars().count() >= 39);
    for (name, wide) in [(&en, "MWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMWMW"), (&hi, "")] {
        for text in [name.as_str(), wide].into_iter().filter(|t| !t.is_empty()) {
            let size = pdf::fit_size(text, true, NAME_PT, TEXT_WIDTH_MM).unwrap();
            let width = pdf::text_width_mm(text, true, size).unwrap();
            // TEXT_WIDTH_MM is the card width less its margins.
            assert!(width <= TEXT_WIDTH_MM, "{text}: {width} mm at {size} pt");
            assert!(size > 5.0, "{text}: {size} pt is unreadable");
        }
    }
    let k = key();
    let (c, text, kind) = signed(&k, card(given, family, &hi, 9));
    let bytes = pdf::card_pdf(&[(c, text, kind)], Layout::Id1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "long.pdf", &bytes);
    let front = pdf_text(&file, 1);
    assert!(front.contains(&hi) && front.contains(&en), "{front}");
}

#[test]
fn an_a4_sheet_holds_ten_cards_and_each_back_scans() {
    let k = key();
    let cards: Vec<_> =
        (0..10).map(|i| signed(&k, card(&format!("Person{i}"), "Sharma", "किशन शर्मा", 100 + i))).collect();
    let bytes = pdf::card_pdf(&cards, Layout::A4Sheet).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "sheet.pdf", &bytes);
    assert_eq!(pages(&file), 2, "a sheet of fronts, one of backs");
    let fronts = pdf_text(&file, 1);
    for i in 0..10 {
        assert!(fronts.contains(&format!("Person{i} Sharma")), "{fronts}");
    }

    let dpi = 300.0;
    let sheet = image::open(raster(&file, 2, 300)).unwrap().to_luma8();
    let px = |mm: f32| (mm / 25.4 * dpi).round() as u32;
    for slot in [0, 3, 9] {
        let (x, y) = pdf::sheet_slot_origin(slot, true);
        let top = pdf::A4_HEIGHT_MM - y - CARD_HEIGHT_MM;
        let crop = image::imageops::crop_imm(&sheet, px(x), px(top), px(CARD_WIDTH_MM), px(CARD_HEIGHT_MM)).to_image();
        let png = dir.path().join(format!("slot{slot}.png"));
        crop.save(&png).unwrap();
        assert_eq!(rqrr_decode(&crop), cards[slot].1, "slot {slot} (rqrr)");
        assert_eq!(zbar(&png), cards[slot].1, "slot {slot} (zbar)");
    }
}

#[test]
fn the_qr_is_version_14_to_15_at_m_and_large_enough() {
    let k = key();
    let (_, text, _) = signed(&k, card("Kshama", "Dwivedi", "श्रीमती क्षमा द्विवेदी", 7));
    let m = qr::qr_modules(&text).unwrap();
    let module = pdf::module_mm(&m);
    println!(
        "QR: {} characters, version {}-{}, {} modules, module {module:.3} mm",
        text.len(),
        m.version,
        m.ec,
        m.width
    );
    assert!((13..=15).contains(&m.version), "version {}", m.version);
    assert!(module * m.width as f32 >= 30.0, "the symbol is at least 30 mm wide");
}

/// A sample to look at: `EHCARD_SAMPLE_DIR=/tmp cargo test -p ehcard-card --test pdf
/// -- --ignored sample` writes `sample-id1.pdf` and `sample-a4.pdf` there.
#[test]
#[ignore]
fn sample() {
    let dir = PathBuf::from(std::env::var("EHCARD_SAMPLE_DIR").unwrap_or_else(|_| ".".into()));
    let k = key();
    let a = signed(&k, card("Kshama", "Dwivedi", "श्रीमती क्षमा द्विवेदी", 7));
    let b = signed(&k, card("Kishan", "Sharma", "किशन शर्मा", 8));
    let long = signed(&k, card("Venkatanarasimharajuvaripeta", "Srinivasan", "वेंकटनरसिंहराजुवारिपेटा श्रीनिवासन कृष्ण", 9));
    write(&dir, "sample-id1.pdf", &pdf::card_pdf(&[a.clone(), b.clone(), long], Layout::Id1).unwrap());
    let many: Vec<_> = (0..10).map(|i| if i % 2 == 0 { a.clone() } else { b.clone() }).collect();
    write(&dir, "sample-a4.pdf", &pdf::card_pdf(&many, Layout::A4Sheet).unwrap());
}

/// Timing: `cargo test --release -p ehcard-card --test pdf -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing() {
    let k = key();
    let one = signed(&k, card("Kshama", "Dwivedi", "श्रीमती क्षमा द्विवेदी", 7));
    pdf::card_pdf(std::slice::from_ref(&one), Layout::Id1).unwrap(); // fonts parsed once
    let t = Instant::now();
    let bytes = pdf::card_pdf(std::slice::from_ref(&one), Layout::Id1).unwrap();
    println!("one card (Id1): {:?}, {} bytes", t.elapsed(), bytes.len());
    let many: Vec<_> = (0..1000).map(|_| one.clone()).collect();
    let t = Instant::now();
    let bytes = pdf::card_pdf(&many, Layout::A4Sheet).unwrap();
    println!("1000 cards (A4Sheet, 200 pages): {:?}, {} bytes", t.elapsed(), bytes.len());
}
