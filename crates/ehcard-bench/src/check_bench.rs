//! `ehcard-bench check`: the tablet's duplicate check before a save, on a
//! real encrypted store holding N residents of a synthetic population with
//! planted duplicates (`ehcard_match::synth`). The store is loaded with
//! everyone but the second record of each planted pair; then each second
//! record is checked (it should find its first), as are people who are on
//! no record (they should find nobody). The baseline, in the same run, is
//! a name search (`Store::search`), the lookup a worker would do by hand.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, SeededEntropy};
use ehcard_match::Person;
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, Store};
use serde_json::{Map, Value, json};

use crate::{ms, pct};

/// The record-format JSON for a synthetic person, or None when the
/// generator made something the record format refuses.
fn record_json(p: &Person) -> Value {
    let mut m = Map::new();
    m.insert("given_name".into(), json!(p.given_name));
    if let Some(f) = &p.family_name {
        m.insert("family_name".into(), json!(f));
    }
    if let Some(h) = &p.name_hi {
        m.insert("name_hi".into(), json!(h));
    }
    m.insert("sex".into(), json!(p.sex.clone().unwrap_or_else(|| "other".into())));
    match (&p.date_of_birth, p.birth_year) {
        (Some(d), _) => {
            m.insert("date_of_birth".into(), json!(d));
        }
        (None, Some(y)) => {
            m.insert("birth_year".into(), json!(y));
        }
        _ => {}
    }
    for (k, v) in [("phone", &p.phone), ("voter_id", &p.voter_id), ("relative_name", &p.relative_name)] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    m.insert("address".into(), json!({"ward": p.ward.unwrap_or(1)}));
    Value::Object(m)
}

pub fn check_bench(n: usize, probes: usize) -> Result<()> {
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).context("clock")?;
    let ctx = EditContext::new(now, "bench");
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).context("date")?;
    let rate = (probes as f64 / n as f64).min(0.5);
    let synth = ehcard_match::synth::population(n, rate, 2026);
    let second: HashSet<usize> = synth.truth.iter().map(|(_, b)| *b).collect();
    let parse = |p: &Person| parse_input(RecordKind::Resident, &record_json(p), today).ok();
    let mut inputs = Vec::new();
    let mut stored = HashSet::new();
    for (i, p) in synth.people.iter().enumerate() {
        if second.contains(&i) {
            continue;
        }
        if let Some(mut input) = parse(p) {
            // Remember who it is, to check a hit against the truth.
            input.fields.0.insert("notes", ehcard_core::FieldValue::Text(format!("synth {i}")));
            inputs.push(input);
            stored.insert(i);
        }
    }
    let tmp = tempfile::tempdir()?;
    let options = CreateOptions {
        device_number: DeviceNumber::new(1)?,
        device_label: "bench".into(),
        kdf_iterations: DEFAULT_ITERATIONS,
    };
    let mut store = Store::create(tmp.path(), "bench passphrase", &options, &mut SeededEntropy::new(1))?;
    println!(
        "ehcard-bench check: {} residents in an encrypted store, {} planted duplicates to check (release build)",
        inputs.len(),
        synth.truth.len()
    );
    let t = Instant::now();
    store.import(inputs, &mut SeededEntropy::new(2), &ctx, &mut |_| {})?;
    println!("loaded in {:.1} s", t.elapsed().as_secs_f64());
    // Which synthetic person a stored record is (kept in its notes).
    let synth_of = |id: &str| -> Option<usize> {
        let rid = id.parse().ok()?;
        store.show(&rid).ok()?.fields.text("notes")?.strip_prefix("synth ")?.parse().ok()
    };
    let mut check_t: Vec<Duration> = Vec::new();
    let mut found = 0usize;
    let mut checked = 0usize;
    for (a, b) in &synth.truth {
        if !stored.contains(a) {
            continue;
        }
        let Some(input) = parse(&synth.people[*b]) else { continue };
        let t = Instant::now();
        let hits = store.likely_duplicates(None, &input.fields)?;
        check_t.push(t.elapsed());
        checked += 1;
        if hits.iter().any(|h| synth_of(&h.id) == Some(*a)) {
            found += 1;
        }
    }
    // People on no record: a fresh population.
    let fresh = ehcard_match::synth::population(probes.max(100), 0.0, 9_999);
    let mut alarms = 0usize;
    let mut fresh_t = Vec::new();
    for p in fresh.people.iter().take(probes.max(100)) {
        let Some(input) = parse(p) else { continue };
        let t = Instant::now();
        if !store.likely_duplicates(None, &input.fields)?.is_empty() {
            alarms += 1;
        }
        fresh_t.push(t.elapsed());
    }
    let mut search_t = Vec::new();
    for (_, b) in synth.truth.iter().take(probes) {
        let t = Instant::now();
        store.search(&synth.people[*b].given_name, 20)?;
        search_t.push(t.elapsed());
    }
    println!();
    println!("{:<44} {:>10} {:>10} {:>10}   target", "figure", "p50", "p95", "max");
    let row = |name: &str, v: &[Duration], target: &str| {
        let max = v.iter().max().copied().unwrap_or_default();
        println!(
            "{:<44} {:>7.2} ms {:>7.2} ms {:>7.2} ms   {target}",
            name,
            ms(pct(v.to_vec(), 0.5)),
            ms(pct(v.to_vec(), 0.95)),
            ms(max)
        );
    };
    row("duplicate check, planted duplicate", &check_t, "<= 50 ms");
    row("duplicate check, person on no record", &fresh_t, "<= 50 ms");
    row("baseline: name search (FTS5, 20 hits)", &search_t, "");
    println!(
        "planted duplicates caught: {found}/{checked} ({:.1} %); false alarms on {} people on no record: {alarms} ({:.1} %)",
        100.0 * found as f64 / checked.max(1) as f64,
        fresh_t.len(),
        100.0 * alarms as f64 / fresh_t.len().max(1) as f64
    );
    println!(
        "check cost over the baseline search: {:.1}x (p95)",
        ms(pct(check_t, 0.95)) / ms(pct(search_t, 0.95)).max(1e-6)
    );
    Ok(())
}
