//! `ehcard-bench match`: duplicate detection on a synthetic population with
//! planted duplicates. Quality (precision, recall) of `find_pairs` beside a
//! naive baseline in the same run (same voter id, or same lowercased full
//! name and date of birth); then the time of `find_pairs` on a big
//! population and of a tablet's `check` against 100,000 residents.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::Result;
use ehcard_match::{Person, blocking_keys, check, find_pairs_with_stats, synth};

use crate::{ms, num_cpus, pct};

fn naive_pairs(people: &[Person]) -> HashSet<(usize, usize)> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, p) in people.iter().enumerate() {
        if let Some(v) = p.voter_id.as_deref().filter(|v| !v.is_empty()) {
            groups.entry(format!("v:{v}")).or_default().push(i);
        }
        if let Some(d) = p.date_of_birth.as_deref().filter(|d| !d.is_empty()) {
            let name = format!("{} {}", p.given_name, p.family_name.as_deref().unwrap_or("")).trim().to_lowercase();
            groups.entry(format!("n:{name}|{d}")).or_default().push(i);
        }
    }
    let mut out = HashSet::new();
    for g in groups.values() {
        for (k, &a) in g.iter().enumerate() {
            for &b in &g[k + 1..] {
                out.insert((a.min(b), a.max(b)));
            }
        }
    }
    out
}

fn quality(label: &str, found: &HashSet<(usize, usize)>, truth: &HashSet<(usize, usize)>) {
    let tp = found.intersection(truth).count();
    let precision = if found.is_empty() { 0.0 } else { tp as f64 / found.len() as f64 };
    let recall = if truth.is_empty() { 0.0 } else { tp as f64 / truth.len() as f64 };
    println!("{label:<26} {:>10} {:>10} {:>10} {:>10.4} {:>10.4}", found.len(), truth.len(), tp, precision, recall);
}

pub fn match_bench(people: usize, quality_n: usize, seed: u64) -> Result<()> {
    let (g, f) = synth::name_counts();
    println!(
        "ehcard-bench match: quality on {quality_n} people + 5% planted duplicates, timing on {people} (release build, {} cores; {g} given / {f} family names)",
        num_cpus()
    );

    // Quality.
    let s = synth::population(quality_n, 0.05, seed);
    let truth: HashSet<(usize, usize)> = s.truth.iter().copied().collect();
    let t = Instant::now();
    let (pairs, stats) = find_pairs_with_stats(&s.people);
    let qt = t.elapsed();
    let found: HashSet<(usize, usize)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    let naive = naive_pairs(&s.people);
    println!();
    println!(
        "{:<26} {:>10} {:>10} {:>10} {:>10} {:>10}   target",
        "quality", "found", "true", "found∩true", "precision", "recall"
    );
    quality("find_pairs", &found, &truth);
    println!("{:<26} {:>54}   recall >= 0.95 at precision >= 0.90", "", "");
    quality("baseline (voter | name+dob)", &naive, &truth);
    println!(
        "({} records, find_pairs {:.1} s, {} comparisons, {} blocks, {} windowed, largest {})",
        s.people.len(),
        qt.as_secs_f64(),
        stats.comparisons,
        stats.blocks,
        stats.big_blocks,
        stats.largest_block
    );
    let key_sets: Vec<HashSet<String>> = s.people.iter().map(|p| blocking_keys(p).into_iter().collect()).collect();
    let blocked = s.truth.iter().filter(|(a, b)| !key_sets[*a].is_disjoint(&key_sets[*b])).count();
    println!("(planted pairs sharing a blocking key: {:.4})", blocked as f64 / s.truth.len().max(1) as f64);
    // A few misses and false positives, for the reader.
    let mut shown = 0;
    for &(a, b) in s.truth.iter().filter(|p| !found.contains(p)).take(4) {
        println!("  missed: {} | {}", brief(&s.people[a]), brief(&s.people[b]));
        shown += 1;
    }
    for p in pairs.iter().filter(|p| !truth.contains(&(p.a, p.b))).take(4) {
        println!("  false:  {} | {}  score {:.2}", brief(&s.people[p.a]), brief(&s.people[p.b]), p.m.score);
        shown += 1;
    }
    if let Some(p) = pairs.iter().find(|p| truth.contains(&(p.a, p.b)) && p.m.reasons.len() >= 3) {
        println!("  e.g. score {:.2}:", p.m.score);
        for r in &p.m.reasons {
            println!("    {:?}: {}", r.code, r.detail);
        }
    }
    let _ = shown;
    drop(s);

    // Timing at scale.
    let t = Instant::now();
    let big = synth::population(people, 0.05, seed + 1);
    let gen_t = t.elapsed();
    let t = Instant::now();
    let (pairs, stats) = find_pairs_with_stats(&big.people);
    let fp = t.elapsed();
    let truth: HashSet<(usize, usize)> = big.truth.iter().copied().collect();
    let tp = pairs.iter().filter(|p| truth.contains(&(p.a, p.b))).count();
    println!();
    println!("{:<34} {:>14}   target", "scale", "value");
    println!("{:<34} {:>14}", "records", big.people.len());
    println!("{:<34} {:>12.1} s", "generation (not counted)", gen_t.as_secs_f64());
    println!("{:<34} {:>12.1} s   <= 120 s", "find_pairs wall time", fp.as_secs_f64());
    println!(
        "{:<34} {:>14}   (precision {:.4}, recall {:.4})",
        "pairs found",
        pairs.len(),
        tp as f64 / pairs.len().max(1) as f64,
        tp as f64 / truth.len().max(1) as f64
    );
    println!("{:<34} {:>14}", "comparisons", stats.comparisons);
    println!(
        "{:<34} {:>12.2} M/s   (in find_pairs, all cores)",
        "compare rate",
        stats.comparisons as f64 / fp.as_secs_f64() / 1e6
    );
    drop(big);

    // A tablet's check against 100,000 residents' blocked candidates.
    let ward = synth::population(100_000, 0.01, seed + 2);
    let (base, news) = ward.people.split_at(ward.people.len() - 1000);
    let t = Instant::now();
    let mut index: HashMap<String, Vec<u32>> = HashMap::new();
    for (i, p) in base.iter().enumerate() {
        for k in blocking_keys(p) {
            index.entry(k).or_default().push(i as u32);
        }
    }
    let index_t = t.elapsed();
    let mut times: Vec<Duration> = Vec::with_capacity(news.len());
    let mut cands_total = 0usize;
    let mut hits = 0usize;
    let mut seen: Vec<u32> = Vec::new();
    for new in news {
        let t = Instant::now();
        seen.clear();
        for k in blocking_keys(new) {
            if let Some(v) = index.get(&k) {
                seen.extend_from_slice(v);
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let found = check(new, seen.iter().map(|&i| &base[i as usize]));
        times.push(t.elapsed());
        cands_total += seen.len();
        hits += usize::from(!found.is_empty());
    }
    println!();
    println!(
        "check vs 100,000 ({} new people; key index built in {:.1} s; {:.0} candidates on average; {} with a hit)",
        news.len(),
        index_t.as_secs_f64(),
        cands_total as f64 / news.len().max(1) as f64,
        hits
    );
    let (c50, c95, cmax) = (pct(times.clone(), 0.5), pct(times.clone(), 0.95), pct(times, 1.0));
    println!("{:<34} {:>11.3} ms", "check p50 (keys + candidates)", ms(c50));
    println!("{:<34} {:>11.3} ms   <= 50 ms incl. DB lookups", "check p95", ms(c95));
    println!("{:<34} {:>11.3} ms", "check max", ms(cmax));
    Ok(())
}

fn brief(p: &Person) -> String {
    format!(
        "{} {} [{}] {}/{} {} v:{} p:{} {} {} rel:{}",
        p.given_name,
        p.family_name.as_deref().unwrap_or("-"),
        p.name_hi.as_deref().unwrap_or("-"),
        p.sex.as_deref().unwrap_or("-").chars().next().unwrap_or('-'),
        p.date_of_birth.as_deref().map(str::to_string).or(p.birth_year.map(|y| format!("~{y}"))).unwrap_or_default(),
        p.ward.unwrap_or(0),
        p.voter_id.as_deref().unwrap_or("-"),
        p.phone.as_deref().unwrap_or("-"),
        p.household_id.as_deref().unwrap_or("-"),
        p.relation.as_deref().unwrap_or("-"),
        p.relative_name.as_deref().unwrap_or("-"),
    )
}
