//! `ehcard-bench roll`: the electoral-roll import, `ehcard-server
//! import-roll` (the release binary, as an administrator runs it) on a
//! synthetic extract, into fresh SQLite files and fresh databases of a
//! throw-away PostgreSQL cluster. The baseline, measured in the same run,
//! is `import-roll --check` on the same file: reading the CSV and checking
//! every row through the record model, writing nothing.
//!
//! The machines this runs on are shared, and one import's figure moves by
//! a fifth from one minute to the next. So every figure is the median of
//! several runs (`--runs`), the stores take turns (a slow minute does not
//! fall on one store only), and the baseline is measured before each
//! import: its ratio to the import is steadier than either.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use ehcard_core::SeededEntropy;
use serde_json::Value;

// The same helper sync_bench includes; kept private there, so included again.
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/sync/pg.rs"]
mod pg;

fn bin(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("no bin dir")?.join(name);
    if !p.exists() {
        bail!("{} is not built: cargo build --release -p ehcard-server", p.display());
    }
    Ok(p)
}

/// A synthetic extract of `rows` people in households of 1-8 (a head, a
/// spouse, children), across all 250 wards, names in both scripts.
pub fn synthetic_roll(rows: usize, seed: u64) -> String {
    let mut rng = SeededEntropy::new(seed);
    let mut out = String::with_capacity(rows * 160);
    out.push_str(
        "epic,name_en,name_hi,relation_type,relation_name_en,relation_name_hi,age,date_of_birth,sex,house_no,\
         section,ward,part_no,serial_no\n",
    );
    let mut i = 0usize;
    let mut house = 0usize;
    while i < rows {
        house += 1;
        let r = rng.next_u64() as usize;
        let size = 1 + r % 8;
        let ward = 1 + (house / 40) % 250;
        let (f, fh) = super::FAMILY[(r / 8) % super::FAMILY.len()];
        let (hg, hgh) = super::GIVEN[(r / 128) % super::GIVEN.len()];
        let head_age = 30 + (r / 4096) % 50;
        let part = 1 + (house / 200) % 300;
        let street = format!("Gali No {}", 1 + (house / 12) % 30);
        let house_no = if r.is_multiple_of(3) { format!("{}/{}", house % 500, 1 + r % 4) } else { house.to_string() };
        for m in 0..size.min(rows - i) {
            let r = rng.next_u64() as usize;
            let (g, gh) = super::GIVEN[r % super::GIVEN.len()];
            let (relation, rel_en, rel_hi, age, sex) = match m {
                0 => ("F", format!("Shri {f}"), format!("श्री {fh}"), head_age, "M"),
                1 => ("H", format!("{hg} {f}"), format!("{hgh} {fh}"), head_age.saturating_sub(3), "F"),
                _ => (
                    "F",
                    format!("{hg} {f}"),
                    format!("{hgh} {fh}"),
                    18 + r % 12,
                    if r.is_multiple_of(2) { "M" } else { "F" },
                ),
            };
            let (name_en, name_hi) = if m == 0 {
                (format!("{hg} {f}"), format!("{hgh} {fh}"))
            } else {
                (format!("{g} {f}"), format!("{gh} {fh}"))
            };
            let _ = writeln!(
                out,
                "DLX{i:07},{name_en},{name_hi},{relation},{rel_en},{rel_hi},{age},,{sex},{house_no},{street},{ward},{part},{}",
                i % 1500 + 1
            );
            i += 1;
        }
    }
    out
}

/// Run `ehcard-server import-roll` and read its JSON summary.
fn import(db: &str, file: &Path, extra: &[&str]) -> Result<(Value, f64)> {
    let t = Instant::now();
    let out = Command::new(bin("ehcard-server")?)
        .args(["--db", db, "import-roll"])
        .arg(file)
        .args(["--json", "--as-of", "2026-01-01"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .output()?;
    let wall = t.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("import-roll on {db}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok((serde_json::from_slice(&out.stdout)?, wall))
}

/// One store's runs.
#[derive(Default)]
struct Figures {
    /// Each first import's summary, its wall time, and the baseline
    /// measured just before it (rows/s).
    runs: Vec<(Value, f64, f64)>,
    /// The last run's file imported again.
    again: Value,
}

/// Wait until the files written so far are on disk (`sync`), so that an
/// import is not measured while the machine is still writing out the one
/// before it: a registry has one store, and the SQLite runs leave about a
/// gigabyte to write back per 100,000 rows. Measured without this, the
/// PostgreSQL import right after the SQLite ones ran 15-35% slower than
/// on its own.
fn settle_disk() {
    match Command::new("sync").status() {
        Ok(s) if s.success() => {}
        _ => eprintln!("warning: `sync` failed; the figures may include writing out earlier runs"),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn rate(v: &Value) -> f64 {
    v["rows_per_sec"].as_f64().unwrap_or(0.0)
}

/// A store's fresh database for run `k`, and what removes it afterwards.
enum Store {
    Sqlite(PathBuf),
    Postgres(pg::PgCluster),
}

impl Store {
    fn fresh(&self, k: usize) -> String {
        match self {
            Store::Sqlite(dir) => format!("sqlite://{}", dir.join(format!("registry{k}.db")).display()),
            Store::Postgres(cluster) => cluster.new_database(&format!("roll{k}")),
        }
    }

    /// Remove run `k`'s database once its figures are taken, so that
    /// nothing it left to do runs during the next store's import (a
    /// registry has one store): SQLite's files (nothing more to write
    /// out); PostgreSQL's database (its autovacuum stops), then a
    /// checkpoint (its pages are written out now rather than later).
    fn done(&self, k: usize) {
        match self {
            Store::Sqlite(dir) => {
                for ext in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(dir.join(format!("registry{k}.db{ext}")));
                }
            }
            Store::Postgres(cluster) => {
                cluster.execute(&format!("DROP DATABASE roll{k}"));
                cluster.execute("CHECKPOINT");
            }
        }
    }
}

pub fn roll_bench(rows: usize, stores: &str, runs: usize) -> Result<()> {
    let runs = runs.max(1);
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("roll.csv");
    std::fs::write(&file, synthetic_roll(rows, 2026))?;
    let mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
    println!(
        "ehcard-bench roll: import-roll of {rows} rows ({mb:.1} MB CSV), release build, {} cores, median of {runs} \
         runs",
        super::num_cpus()
    );
    let check_db = format!("sqlite://{}", tmp.path().join("check.db").display());
    let baseline = || -> Result<f64> { Ok(rate(&import(&check_db, &file, &["--check"])?.0)) };

    let mut columns: Vec<(&str, Store, Figures)> = Vec::new();
    if stores == "both" || stores == "sqlite" {
        columns.push(("SQLite", Store::Sqlite(tmp.path().to_path_buf()), Figures::default()));
    }
    if stores == "both" || stores == "postgres" {
        columns.push(("PostgreSQL", Store::Postgres(pg::PgCluster::start()), Figures::default()));
    }
    if columns.is_empty() {
        bail!("--stores is sqlite, postgres or both, not {stores:?}");
    }
    let bar = indicatif::ProgressBar::new((runs * columns.len()) as u64).with_message("importing").with_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:30} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    // The stores take turns, so a slow minute falls on both.
    for k in 0..runs {
        for (name, store, figures) in &mut columns {
            bar.set_message(format!("importing into {name}"));
            settle_disk();
            let base = baseline()?;
            let db = store.fresh(k);
            let (first, wall) = import(&db, &file, &[])?;
            if k + 1 == runs {
                settle_disk();
                let (again, _) = import(&db, &file, &[])?;
                if again["unchanged"] != first["rows"] {
                    bail!("re-import into {name} was not unchanged: {again}");
                }
                figures.again = again;
            }
            figures.runs.push((first, wall, base));
            store.done(k);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let columns: Vec<(&str, Figures)> = columns.into_iter().map(|(name, _, f)| (name, f)).collect();
    let bases: Vec<f64> = columns.iter().flat_map(|(_, f)| f.runs.iter().map(|r| r.2)).collect();
    let (low, high) = bases.iter().fold((f64::MAX, 0f64), |(l, h), b| (l.min(*b), h.max(*b)));
    println!();
    println!(
        "baseline: import-roll --check (read and check every row, write nothing): {:.0} rows/s (median; {low:.0}-{high:.0})",
        median(bases.clone())
    );
    let table = crate::Table::new(&columns, 52);
    let row = |label: &str, target: &str, v: &dyn Fn(&Figures) -> String| table.row(label, target, v);
    let rates = |f: &Figures| f.runs.iter().map(|r| rate(&r.0)).collect::<Vec<f64>>();
    row("import: rows/s, median (read, check, build, write)", ">= 20,000", &|f| format!("{:.0}", median(rates(f))));
    row("import: rows/s, slowest run", "", &|f| format!("{:.0}", rates(f).into_iter().fold(f64::MAX, f64::min)));
    row("import: rows/s, fastest run", "", &|f| format!("{:.0}", rates(f).into_iter().fold(0.0, f64::max)));
    row("import: cost x over the baseline, median", "", &|f| {
        format!("{:.1}x", median(f.runs.iter().map(|r| r.2 / rate(&r.0).max(1.0)).collect()))
    });
    row("import: wall time incl. process start (s)", "", &|f| {
        format!("{:.1}", median(f.runs.iter().map(|r| r.1).collect()))
    });
    row("residents / households / feed entries (k)", "", &|f| {
        let k = |v: &Value| v.as_f64().unwrap_or(0.0) / 1000.0;
        let first = &f.runs[0].0;
        format!("{:.0}/{:.0}/{:.0}", k(&first["added"]), k(&first["households_added"]), k(&first["feed_entries"]))
    });
    row("re-import of the same file: rows/s", "", &|f| format!("{:.0}", rate(&f.again)));
    row("re-import: feed entries written", "0", &|f| f.again["feed_entries"].as_i64().unwrap_or(-1).to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_median_is_the_middle_run() {
        assert_eq!(super::median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(super::median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(super::median(Vec::new()), 0.0);
    }

    #[test]
    fn synthetic_roll_has_the_rows_asked_for() {
        let text = super::synthetic_roll(100, 1);
        assert_eq!(text.lines().count(), 101);
        assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("DLX0000000,")));
    }
}
