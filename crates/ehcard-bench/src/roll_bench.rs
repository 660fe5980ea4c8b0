//! `ehcard-bench roll`: the electoral-roll import, `ehcard-server
//! import-roll` (the release binary, as an administrator runs it) on a
//! synthetic extract, into a fresh SQLite file and a throw-away PostgreSQL
//! cluster. The baseline, measured in the same run, is `import-roll --check`
//! on the same file: reading the CSV and checking every row through the
//! record model, writing nothing.

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

struct Figures {
    first: Value,
    first_wall: f64,
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

fn run_store(db: &str, file: &Path) -> Result<Figures> {
    settle_disk();
    let (first, first_wall) = import(db, file, &[])?;
    settle_disk();
    let (again, _) = import(db, file, &[])?;
    if again["unchanged"] != first["rows"] {
        bail!("re-import was not unchanged: {again}");
    }
    Ok(Figures { first, first_wall, again })
}

pub fn roll_bench(rows: usize, stores: &str) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let file = tmp.path().join("roll.csv");
    std::fs::write(&file, synthetic_roll(rows, 2026))?;
    let mb = std::fs::metadata(&file)?.len() as f64 / 1e6;
    println!(
        "ehcard-bench roll: import-roll of {rows} rows ({mb:.1} MB CSV), release build, {} cores",
        super::num_cpus()
    );
    let check_db = format!("sqlite://{}", tmp.path().join("check.db").display());
    let (check, _) = import(&check_db, &file, &["--check"])?;
    let base_rate = check["rows_per_sec"].as_f64().unwrap_or(0.0);

    let mut columns: Vec<(&str, Figures)> = Vec::new();
    if stores == "both" || stores == "sqlite" {
        eprintln!("importing into SQLite…");
        let db = format!("sqlite://{}", tmp.path().join("registry.db").display());
        columns.push(("SQLite", run_store(&db, &file)?));
        // Its files are not needed again: nothing more to write out.
        for name in ["registry.db", "registry.db-wal", "registry.db-shm"] {
            let _ = std::fs::remove_file(tmp.path().join(name));
        }
    }
    if stores == "both" || stores == "postgres" {
        eprintln!("importing into PostgreSQL…");
        let cluster = pg::PgCluster::start();
        columns.push(("PostgreSQL", run_store(&cluster.url(), &file)?));
    }
    println!();
    println!("baseline: import-roll --check (read and check every row, write nothing): {base_rate:.0} rows/s");
    let table = crate::Table::new(&columns, 44);
    let row = |label: &str, target: &str, v: &dyn Fn(&Figures) -> String| table.row(label, target, v);
    let rate = |v: &Value| v["rows_per_sec"].as_f64().unwrap_or(0.0);
    row("import: rows/s (read, check, build, write)", ">= 20,000", &|f| format!("{:.0}", rate(&f.first)));
    row("import: cost x over the baseline", "", &|f| format!("{:.1}x", base_rate / rate(&f.first).max(1.0)));
    row("import: wall time incl. process start (s)", "", &|f| format!("{:.1}", f.first_wall));
    row("residents / households / feed entries (k)", "", &|f| {
        let k = |v: &Value| v.as_f64().unwrap_or(0.0) / 1000.0;
        format!("{:.0}/{:.0}/{:.0}", k(&f.first["added"]), k(&f.first["households_added"]), k(&f.first["feed_entries"]))
    });
    row("re-import of the same file: rows/s", "", &|f| format!("{:.0}", rate(&f.again)));
    row("re-import: feed entries written", "0", &|f| f.again["feed_entries"].as_i64().unwrap_or(-1).to_string());
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn synthetic_roll_has_the_rows_asked_for() {
        let text = super::synthetic_roll(100, 1);
        assert_eq!(text.lines().count(), 101);
        assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("DLX0000000,")));
    }
}
