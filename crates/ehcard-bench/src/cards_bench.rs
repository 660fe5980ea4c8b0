//! `ehcard-bench cards`: the time to sign and print one card and a run of
//! cards on A4 sheets, and the PDF size per card. The baseline in the same
//! run is signing the QR payload alone.

use std::time::Instant;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_card::pdf::{Layout, card_pdf};
use ehcard_card::{CardData, CardKind, Issue, key_id, payload};
use ehcard_core::doc::{Origin, RecordDoc};
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, HealthId, RecordId, SeededEntropy};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::json;

fn card(i: usize) -> Result<CardData> {
    let v = json!({
        "given_name": format!("Meena{i}"), "family_name": "Kumari", "name_hi": "श्रीमती क्षमा द्विवेदी", "sex": "female",
        "date_of_birth": "1992-08-15", "phone": "9811122233",
        "address": {"house": "B-12", "street": "Gali No. 5", "locality": "Seelampur", "ward": 12, "pincode": "110053"},
        "blood_group": "B+", "allergies": ["Penicillin", "Dust"], "chronic_conditions": ["Asthma"],
        "emergency_contact": {"name": "Ram Kumar", "phone": "9811122234"},
        "consent": {"share_clinical_on_card": true}
    });
    let input = parse_input(RecordKind::Resident, &v, NaiveDate::from_ymd_opt(2026, 11, 28).context("date")?)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).context("time")?;
    let origin = Origin {
        id: RecordId::new_v7(1, &mut SeededEntropy::new(i as u64)),
        health_id: Some(HealthId::new(DeviceNumber::new(42)?, i as u32 + 1)?),
        enrolled_by: "bench".into(),
        enrolled_device: None,
        enrolled_at: now,
    };
    let ctx = EditContext::new(now, "bench");
    let record =
        RecordDoc::create(RecordKind::Resident, &origin, &input.fields, &automerge::ActorId::from([1u8; 16]), &ctx)?
            .read()?;
    Ok(CardData::from_record(&record)?)
}

pub fn cards_bench(n: usize) -> Result<()> {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
        .map_err(|_| anyhow::anyhow!("random number generator"))?
        .as_ref()
        .to_vec();
    let public = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| anyhow::anyhow!("key"))?.public_key().as_ref().to_vec();
    let kid = key_id(&public);
    let issue =
        Issue { issuer: "bench".into(), kind: CardKind::Provisional, issued_at: 1_795_000_000, expires_at: None };
    let cards: Vec<CardData> = (0..n).map(card).collect::<Result<_>>()?;

    // Baseline: the signed QR payload alone.
    let t = Instant::now();
    let texts: Vec<String> =
        cards.iter().map(|c| payload::encode(c, &issue, &kid, &pkcs8)).collect::<Result<_, _>>()?;
    let sign_ms = t.elapsed().as_secs_f64() * 1000.0 / n as f64;

    // One card, ID-1 front and back (best of 5 after a warm-up).
    let one = vec![(cards[0].clone(), texts[0].clone(), CardKind::Provisional)];
    card_pdf(&one, Layout::Id1)?;
    let mut best = f64::MAX;
    let mut one_bytes = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let text = payload::encode(&cards[0], &issue, &kid, &pkcs8)?;
        let pdf = card_pdf(&[(cards[0].clone(), text, CardKind::Provisional)], Layout::Id1)?;
        best = best.min(t.elapsed().as_secs_f64() * 1000.0);
        one_bytes = pdf.len();
    }

    // n cards on A4 sheets, signing included.
    let t = Instant::now();
    let batch: Vec<_> = cards
        .iter()
        .map(|c| payload::encode(c, &issue, &kid, &pkcs8).map(|text| (c.clone(), text, CardKind::Provisional)))
        .collect::<Result<_, _>>()?;
    let pdf = card_pdf(&batch, Layout::A4Sheet)?;
    let sheet_secs = t.elapsed().as_secs_f64();

    println!("ehcard-bench cards: {n} cards (release build); baseline: signing the QR payload alone");
    println!("{:<44} {:>12}   target", "figure", "value");
    println!("{:<44} {:>9.1} ms   <= 30 ms", "one card, signed and printed (ID-1 PDF)", best);
    println!(
        "{:<44} {:>9.2} ms   ({:.0}x of the card)",
        "  baseline: signed QR payload alone",
        sign_ms,
        best / sign_ms.max(1e-9)
    );
    println!("{:<44} {:>10.1} s   <= 15 s", format!("{n} cards on A4 sheets"), sheet_secs);
    println!("{:<44} {:>10.1} KB", "PDF size, one ID-1 card", one_bytes as f64 / 1024.0);
    println!("{:<44} {:>10.1} KB", "PDF size per card on A4 sheets", pdf.len() as f64 / 1024.0 / n as f64);
    Ok(())
}
