//! The field app's figures on a tablet-sized store: cold start to an
//! unlocked home screen and search per keystroke, measured on the same
//! store calls the app's `unlock`, `home` and `search` commands make.
//!
//! `cargo run --release -p ehcard-field --example app_figures -- [RESIDENTS] [DIR]`
//! (default 100000; DIR keeps the store between runs).

use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use ehcard_core::ids::DeviceNumber;
use ehcard_core::model::{RecordKind, parse_input};
use ehcard_core::{EditContext, SeededEntropy};
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, Store, StoreError};
use serde_json::json;

const PASS: &str = "figures passphrase";
const GIVEN: &[(&str, &str)] = &[
    ("Meena", "मीना"),
    ("Ramesh", "रमेश"),
    ("Sunita", "सुनीता"),
    ("Mohammed", "मोहम्मद"),
    ("Priya", "प्रिया"),
    ("Arjun", "अर्जुन"),
    ("Kavita", "कविता"),
    ("Imran", "इमरान"),
];
const FAMILY: &[(&str, &str)] =
    &[("Sharma", "शर्मा"), ("Khan", "ख़ान"), ("Gupta", "गुप्ता"), ("Singh", "सिंह"), ("Kumari", "कुमारी")];

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    ms(v[((v.len() as f64 - 1.0) * p).round() as usize])
}

/// What the app's `home` command reads.
fn home(store: &Store, ctx: &EditContext) -> Result<u64, Box<dyn std::error::Error>> {
    let s = store.stats(ctx)?;
    let pending = store.pending_count()?;
    let _ = ehcard_field::sync::last_sync_at(store)?;
    let _ = store.setting("app_print_queue")?;
    Ok(s.residents + pending)
}

fn build(dir: &std::path::Path, n: usize, ctx: &EditContext) -> Result<(), Box<dyn std::error::Error>> {
    let options = CreateOptions {
        device_number: DeviceNumber::new(7)?,
        device_label: "figures".into(),
        kdf_iterations: DEFAULT_ITERATIONS,
    };
    let mut rng = SeededEntropy::new(6);
    let mut store = Store::create(dir, PASS, &options, &mut rng)?;
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).ok_or("date")?;
    let mut inputs = Vec::with_capacity(n);
    for i in 0..n {
        let (g, gh) = GIVEN[i % GIVEN.len()];
        let (f, fh) = FAMILY[(i / 7) % FAMILY.len()];
        let v = json!({
            "given_name": format!("{g}{}", i % 997), "family_name": f, "name_hi": format!("{gh} {fh}"),
            "sex": if i % 2 == 0 { "female" } else { "male" }, "birth_year": 1940 + (i % 80),
            "phone": format!("{}{:09}", 6 + (i % 4), i), "voter_id": format!("DLV{i:07}"),
            "address": {"house": format!("{}", i / 4), "street": format!("Gali {}", i % 40), "ward": 12},
            "status": if i % 3 == 0 { "verified" } else { "unverified" },
        });
        inputs.push(parse_input(RecordKind::Resident, &v, today).map_err(|e| format!("{e:?}"))?);
    }
    let t = Instant::now();
    store.import(inputs, &mut rng, ctx, &mut |_| {})?;
    store.checkpoint()?;
    println!("built a store of {n} residents in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(100_000);
    let keep = args.next().map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir()?;
    let dir = keep.unwrap_or_else(|| tmp.path().join("store"));
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).ok_or("clock")?;
    let ctx = EditContext::new(now, "figures");
    if !ehcard_store::exists(&dir) {
        build(&dir, n, &ctx)?;
    }

    // Cold start: unlock (key derivation + open) and the home screen's reads.
    let mut opens = Vec::new();
    let mut homes = Vec::new();
    let mut totals = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let store = match Store::open(&dir, PASS) {
            Ok(s) => s,
            Err(StoreError::WrongPassphrase) => return Err("the kept store has another passphrase".into()),
            Err(e) => return Err(e.into()),
        };
        let opened = t.elapsed();
        home(&store, &ctx)?;
        let _ = store.households(Some(12), 300)?;
        opens.push(opened);
        homes.push(t.elapsed() - opened);
        totals.push(t.elapsed());
    }
    println!(
        "cold start to home ({n} residents): unlock {:.0} ms + home and household list {:.0} ms = {:.0} ms median, {:.0} ms worst (budget 2000 ms; the web view adds its own start-up)",
        pct(opens.clone(), 0.5),
        pct(homes, 0.5),
        pct(totals.clone(), 0.5),
        pct(totals, 1.0)
    );

    // Search as you type: every prefix of each query, 50 hits as the app asks.
    let store = Store::open(&dir, PASS)?;
    let typed = ["Meena12", "मीना", "Sharma", "9000001", "DLV00012", "Kumari", "ख़ान", "Priya 3"];
    let mut keystrokes = Vec::new();
    for q in typed {
        let chars: Vec<char> = q.chars().collect();
        for k in 1..=chars.len() {
            let prefix: String = chars[..k].iter().collect();
            let t = Instant::now();
            let _ = store.search(&prefix, 50)?;
            keystrokes.push(t.elapsed());
        }
    }
    println!(
        "search per keystroke ({} keystrokes): median {:.1} ms, p95 {:.1} ms, worst {:.1} ms (budget 50 ms)",
        keystrokes.len(),
        pct(keystrokes.clone(), 0.5),
        pct(keystrokes.clone(), 0.95),
        pct(keystrokes, 1.0)
    );
    Ok(())
}
