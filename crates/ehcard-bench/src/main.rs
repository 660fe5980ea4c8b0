//! `ehcard-bench`: benchmarks that print figures beside a baseline measured
//! in the same run, so ratios mean something on a shared, noisy machine.
//!
//! `ehcard-bench store --residents 100000` measures the device store:
//! import rate, search and show latency, bytes on disk per resident. The
//! baseline is plain rusqlite on an unencrypted file holding the same JSON.

mod cards_bench;
mod check_bench;
mod console_bench;
mod match_bench;
mod roll_bench;
mod sync_bench;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};
use ehcard_core::model::{Input, RecordKind, parse_input};
use ehcard_core::{DeviceNumber, EditContext, SeededEntropy};
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, Store};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "ehcard-bench", about = "ehcard benchmarks (run a release build)")]
struct Args {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// The device store at N residents.
    Store {
        #[arg(long, default_value_t = 100_000)]
        residents: usize,
        #[arg(long, default_value_t = 1000)]
        queries: usize,
    },
    /// Sync workloads W1-W4 on SQLite and PostgreSQL.
    Sync {
        #[arg(long, default_value_t = 10_000)]
        residents: usize,
        /// sqlite, postgres or both.
        #[arg(long, default_value = "both")]
        stores: String,
        /// Only W1 and W2.
        #[arg(long)]
        quick: bool,
    },
    /// Signing and printing cards to PDF.
    Cards {
        #[arg(long, default_value_t = 1000)]
        cards: usize,
    },
    /// Duplicate detection: quality beside a naive baseline, and timings.
    Match {
        #[arg(long, default_value_t = 1_000_000)]
        people: usize,
        #[arg(long, default_value_t = 200_000)]
        quality: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// The electoral-roll import (`ehcard-server import-roll`) on SQLite and PostgreSQL.
    Roll {
        #[arg(long, default_value_t = 200_000)]
        rows: usize,
        /// sqlite, postgres or both.
        #[arg(long, default_value = "both")]
        stores: String,
        /// Imports per store; the figures are their medians.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Write the synthetic extract to this file and stop (to import or
        /// profile it by hand).
        #[arg(long)]
        write_csv: Option<std::path::PathBuf>,
    },
    /// The registry console's pages (dashboard, search) on a registry of N
    /// residents, beside GET /healthz.
    Console {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        /// postgres, sqlite or both.
        #[arg(long, default_value = "postgres")]
        stores: String,
        /// Timed requests per page (after 5 warm-up).
        #[arg(long, default_value_t = 50)]
        requests: usize,
    },
    /// The tablet's duplicate check before a save, on a store of N residents.
    Check {
        #[arg(long, default_value_t = 100_000)]
        residents: usize,
        #[arg(long, default_value_t = 1000)]
        probes: usize,
    },
    /// Cost of each step of making a record document.
    Doc {
        #[arg(long, default_value_t = 20_000)]
        residents: usize,
    },
}

const GIVEN: &[(&str, &str)] = &[
    ("Ram", "राम"),
    ("Sita", "सीता"),
    ("Mohammad", "मोहम्मद"),
    ("Lakshmi", "लक्ष्मी"),
    ("Suresh", "सुरेश"),
    ("Anita", "अनीता"),
    ("Rajesh", "राजेश"),
    ("Pooja", "पूजा"),
    ("Imran", "इमरान"),
    ("Kavita", "कविता"),
    ("Deepak", "दीपक"),
    ("Sunita", "सुनीता"),
    ("Arjun", "अर्जुन"),
    ("Fatima", "फ़ातिमा"),
    ("Vikram", "विक्रम"),
    ("Priya", "प्रिया"),
    ("Harish", "हरीश"),
    ("Geeta", "गीता"),
    ("Salman", "सलमान"),
    ("Neha", "नेहा"),
    ("Kishan", "किशन"),
    ("Shreya", "श्रेया"),
    ("Dwarka", "द्वारका"),
    ("Kshitij", "क्षितिज"),
    ("Dharmendra", "धर्मेंद्र"),
];
const FAMILY: &[(&str, &str)] = &[
    ("Sharma", "शर्मा"),
    ("Verma", "वर्मा"),
    ("Khan", "ख़ान"),
    ("Gupta", "गुप्ता"),
    ("Singh", "सिंह"),
    ("Yadav", "यादव"),
    ("Chaudhary", "चौधरी"),
    ("Ansari", "अंसारी"),
    ("Jain", "जैन"),
    ("Kumar", "कुमार"),
    ("Mishra", "मिश्रा"),
    ("Qureshi", "क़ुरैशी"),
    ("Rawat", "रावत"),
    ("Bansal", "बंसल"),
    ("Thakur", "ठाकुर"),
];

const BLOOD: [&str; 5] = ["A+", "B+", "O+", "AB+", "unknown"];

fn synthetic(i: usize, rng: &mut SeededEntropy) -> Value {
    let r = rng.next_u64() as usize;
    let (g, gh) = GIVEN[r % GIVEN.len()];
    let (f, fh) = FAMILY[(r / 31) % FAMILY.len()];
    json!({
        "given_name": format!("{g}{}", i % 997), "family_name": f, "name_hi": format!("{gh} {fh}"),
        "sex": if r.is_multiple_of(2) { "female" } else { "male" }, "birth_year": 1940 + (r % 80),
        "phone": format!("{}{:09}", 6 + (r % 4), i), "voter_id": format!("DLV{:07}", i),
        "address": {"house": format!("{}", r % 500), "street": format!("Gali {}", r % 40), "locality": "Seelampur",
                    "ward": 1 + (r % 250), "pincode": format!("1100{:02}", 1 + (r % 99))},
        "blood_group": BLOOD[r % 5],
        "allergies": if r.is_multiple_of(7) { json!(["Penicillin"]) } else { json!([]) },
        "consent": {"share_clinical_on_card": !r.is_multiple_of(3)}
    })
}

/// Figures side by side, one column per store: a header, then rows.
pub struct Table<'a, T> {
    columns: &'a [(&'a str, T)],
    width: usize,
}

impl<'a, T> Table<'a, T> {
    /// Print the header; `width` is the label column's.
    pub fn new(columns: &'a [(&'a str, T)], width: usize) -> Self {
        print!("{:<width$}", "figure");
        for (name, _) in columns {
            print!("{name:>14}");
        }
        println!("   target");
        Table { columns, width }
    }

    pub fn row(&self, label: &str, target: &str, value: &dyn Fn(&T) -> String) {
        print!("{label:<width$}", width = self.width);
        for (_, f) in self.columns {
            print!("{:>14}", value(f));
        }
        println!("   {target}");
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).filter_map(|e| e.metadata().ok()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn store_bench(n: usize, queries: usize) -> Result<()> {
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).context("clock")?;
    let ctx = EditContext::new(now, "bench");
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).context("date")?;
    let mut rng = SeededEntropy::new(2026);
    let docs: Vec<Value> = (0..n).map(|i| synthetic(i, &mut rng)).collect();
    let lines: Vec<String> = docs.iter().map(Value::to_string).collect();
    let tmp = tempfile::tempdir()?;

    println!("ehcard-bench store: {n} residents, {queries} queries each (release build, {} cores)", num_cpus());

    // Baseline: plain rusqlite, unencrypted, the same JSON text, one transaction.
    let base_dir = tmp.path().join("baseline");
    std::fs::create_dir_all(&base_dir)?;
    let mut base = rusqlite::Connection::open(base_dir.join("plain.db"))?;
    base.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
         CREATE TABLE r (id INTEGER PRIMARY KEY, json TEXT NOT NULL);",
    )?;
    let t = Instant::now();
    {
        let tx = base.transaction()?;
        {
            let mut st = tx.prepare("INSERT INTO r(json) VALUES (?1)")?;
            for l in &lines {
                st.execute([l])?;
            }
        }
        tx.commit()?;
    }
    let base_import = t.elapsed();
    base.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let base_bytes = dir_bytes(&base_dir);

    // ehcard: parse + validate + CRDT document + encrypted store + projections.
    let store_dir = tmp.path().join("store");
    let options = CreateOptions {
        device_number: DeviceNumber::new(1)?,
        device_label: "bench".into(),
        kdf_iterations: DEFAULT_ITERATIONS,
    };
    let t = Instant::now();
    let mut store = Store::create(&store_dir, "bench passphrase", &options, &mut SeededEntropy::new(1))?;
    let unlock = t.elapsed();
    let t = Instant::now();
    let inputs = parse_lines(&lines, today)?;
    store.import(inputs, &mut SeededEntropy::new(2), &ctx, &mut |_| {})?;
    let import = t.elapsed();
    store.checkpoint()?;
    let store_bytes = dir_bytes(&store_dir);

    // Queries: name prefixes (Latin and Devanagari), phone, voter id, eHealth ID.
    let mut q = SeededEntropy::new(7);
    let mut texts = Vec::with_capacity(queries);
    for k in 0..queries {
        let i = (q.next_u64() as usize) % n;
        let d = &docs[i];
        let text = match k % 5 {
            0 => d["given_name"].as_str().unwrap_or("")[..3].to_string(),
            1 => d["name_hi"].as_str().unwrap_or("").chars().take(2).collect(),
            2 => d["phone"].as_str().unwrap_or("").to_string(),
            3 => d["voter_id"].as_str().unwrap_or("")[..7].to_string(),
            _ => {
                format!("{} {}", &d["given_name"].as_str().unwrap_or(""), &d["family_name"].as_str().unwrap_or("")[..2])
            }
        };
        texts.push(text);
    }
    let mut search_t = Vec::with_capacity(queries);
    let mut found = 0usize;
    for text in &texts {
        let t = Instant::now();
        found += store.search(text, 20)?.len();
        search_t.push(t.elapsed());
    }
    let mut base_search_t = Vec::with_capacity(queries);
    {
        let mut st = base.prepare("SELECT json FROM r WHERE json LIKE ?1 LIMIT 20")?;
        for text in texts.iter().take(queries.min(100)) {
            let t = Instant::now();
            let _rows: Vec<String> = st.query_map([format!("%{text}%")], |r| r.get(0))?.collect::<Result<_, _>>()?;
            base_search_t.push(t.elapsed());
        }
    }

    // show: a record by id, read from its document.
    let ids: Vec<String> = {
        let hits = store.search("DLV", 1)?; // warm
        drop(hits);
        let mut v = Vec::new();
        for k in 0..queries {
            let i = (k * 7919) % n;
            if let Some(h) = store.search(&format!("DLV{i:07}"), 1)?.into_iter().next() {
                v.push(h.id);
            }
        }
        v
    };
    let mut show_t = Vec::with_capacity(ids.len());
    for id in &ids {
        let rid = id.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        let t = Instant::now();
        let r = store.show(&rid)?;
        let _ = r.to_json();
        show_t.push(t.elapsed());
    }
    let mut base_show_t = Vec::with_capacity(ids.len());
    {
        let mut st = base.prepare("SELECT json FROM r WHERE id = ?1")?;
        for k in 0..ids.len() {
            let i = ((k * 7919) % n + 1) as i64;
            let t = Instant::now();
            let j: String = st.query_row([i], |r| r.get(0))?;
            let _: Value = serde_json::from_str(&j)?;
            base_show_t.push(t.elapsed());
        }
    }

    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!();
    println!(
        "cost × = ehcard's time (or bytes) per record over the baseline's: plain rusqlite, unencrypted, the same JSON"
    );
    println!("{:<34} {:>14} {:>14} {:>9}   target", "figure", "ehcard", "baseline", "cost ×");
    println!(
        "{:<34} {:>12.0}/s {:>12.0}/s {:>8.1}x   >= 3,000/s",
        "import (records/s)",
        rate(import),
        rate(base_import),
        rate(base_import) / rate(import)
    );
    let (s50, s95, b95) = (pct(search_t.clone(), 0.5), pct(search_t, 0.95), pct(base_search_t, 0.95));
    println!(
        "{:<34} {:>11.3} ms {:>11.3} ms {:>8.2}x   <= 20 ms",
        "search p95 (LIKE scan baseline)",
        ms(s95),
        ms(b95),
        ms(s95) / ms(b95)
    );
    println!("{:<34} {:>11.3} ms", "search p50", ms(s50));
    let (h50, h95, bh95) = (pct(show_t.clone(), 0.5), pct(show_t, 0.95), pct(base_show_t, 0.95));
    println!(
        "{:<34} {:>11.3} ms {:>11.3} ms {:>8.2}x   <= 5 ms",
        "show p95 (JSON by rowid baseline)",
        ms(h95),
        ms(bh95),
        ms(h95) / ms(bh95)
    );
    println!("{:<34} {:>11.3} ms", "show p50", ms(h50));
    let per = store_bytes as f64 / n as f64;
    let base_per = base_bytes as f64 / n as f64;
    println!("{:<34} {:>12.0} B {:>12.0} B {:>8.2}x   <= 3,072 B", "disk per resident", per, base_per, per / base_per);
    println!("{:<34} {:>11.0} ms {:>14}", "create + unlock (600k PBKDF2)", ms(unlock), "-");
    println!("(search returned {found} hits over {} queries)", texts.len());
    Ok(())
}

/// Record format v1 lines, read as a command would read them.
fn parse_lines(lines: &[String], today: NaiveDate) -> Result<Vec<Input>> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l)?;
            parse_input(RecordKind::Resident, &v, today).map_err(|e| anyhow::anyhow!("{e:?}"))
        })
        .collect()
}

fn doc_bench(n: usize) -> Result<()> {
    use ehcard_core::doc::{Origin, RecordDoc};
    let now = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).context("clock")?;
    let ctx = EditContext::new(now, "bench");
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).context("date")?;
    let mut rng = SeededEntropy::new(2026);
    let lines: Vec<String> = (0..n).map(|i| synthetic(i, &mut rng).to_string()).collect();
    let actor = automerge::ActorId::from([1u8; 16]);
    let t = Instant::now();
    let inputs = parse_lines(&lines, today)?;
    let parse = t.elapsed();
    let t = Instant::now();
    let mut docs = Vec::with_capacity(n);
    for (i, input) in inputs.iter().enumerate() {
        let origin = Origin {
            id: ehcard_core::RecordId::new_v7(1_795_000_000_000 + i as u64, &mut rng),
            health_id: None,
            enrolled_by: "bench".into(),
            enrolled_device: None,
            enrolled_at: now,
        };
        docs.push(RecordDoc::create(RecordKind::Resident, &origin, &input.fields, &actor, &ctx)?);
    }
    let create = t.elapsed();
    let t = Instant::now();
    let saved: Vec<Vec<u8>> = docs.iter_mut().map(|d| d.save()).collect();
    let save = t.elapsed();
    let t = Instant::now();
    for d in &docs {
        d.read()?;
    }
    let read = t.elapsed();
    let t = Instant::now();
    for b in &saved {
        RecordDoc::load(b, &actor)?;
    }
    let load = t.elapsed();
    let us = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
    println!(
        "per record: parse {:.1} us, create {:.1} us, save {:.1} us, read {:.1} us, load {:.1} us; saved {} B",
        us(parse),
        us(create),
        us(save),
        us(read),
        us(load),
        saved.iter().map(Vec::len).sum::<usize>() / n
    );
    Ok(())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn main() -> Result<()> {
    match Args::parse().command {
        Cmd::Store { residents, queries } => store_bench(residents, queries),
        Cmd::Doc { residents } => doc_bench(residents),
        Cmd::Cards { cards } => cards_bench::cards_bench(cards),
        Cmd::Sync { residents, stores, quick } => sync_bench::sync_bench(residents, &stores, quick),
        Cmd::Check { residents, probes } => check_bench::check_bench(residents, probes),
        Cmd::Roll { rows, write_csv: Some(path), .. } => {
            std::fs::write(&path, roll_bench::synthetic_roll(rows, 2026))?;
            println!("wrote {rows} rows to {}", path.display());
            Ok(())
        }
        Cmd::Roll { rows, stores, runs, write_csv: None } => roll_bench::roll_bench(rows, &stores, runs),
        Cmd::Console { residents, stores, requests } => console_bench::console_bench(residents, &stores, requests),
        Cmd::Match { people, quality, seed } => match_bench::match_bench(people, quality, seed),
    }
}
