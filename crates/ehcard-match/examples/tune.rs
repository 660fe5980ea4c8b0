//! Quality on a synthetic population, with samples of misses and false pairs:
//! `cargo run --release -p ehcard-match --example tune -- 200000 [seed]`.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use ehcard_match::{Person, find_pairs_with_stats, synth};

fn brief(p: &Person) -> String {
    format!(
        "{} {} [{}] {} {} w{} v:{} p:{} {} {} rel:{}",
        p.given_name,
        p.family_name.as_deref().unwrap_or("-"),
        p.name_hi.as_deref().unwrap_or("-"),
        p.sex.as_deref().unwrap_or("-"),
        p.date_of_birth.clone().or(p.birth_year.map(|y| format!("~{y}"))).unwrap_or_default(),
        p.ward.unwrap_or(0),
        p.voter_id.as_deref().unwrap_or("-"),
        p.phone.as_deref().unwrap_or("-"),
        p.household_id.as_deref().unwrap_or("-"),
        p.relation.as_deref().unwrap_or("-"),
        p.relative_name.as_deref().unwrap_or("-"),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2026);
    let show: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(12);
    let s = synth::population(n, 0.05, seed);
    let truth: HashSet<(usize, usize)> = s.truth.iter().copied().collect();
    let t = std::time::Instant::now();
    let (pairs, stats) = find_pairs_with_stats(&s.people);
    let el = t.elapsed();
    let found: HashSet<(usize, usize)> = pairs.iter().map(|p| (p.a, p.b)).collect();
    let ns = ehcard_match::NameStats::from_people(&s.people);
    let missed_scored = s
        .truth
        .iter()
        .filter(|p| !found.contains(p))
        .filter(|(a, b)| ehcard_match::explain_with_stats(&s.people[*a], &s.people[*b], &ns).score >= 0.5)
        .count();
    println!("missed though scoring >= threshold (blocking/windows): {missed_scored}");
    let tp = found.intersection(&truth).count();
    println!(
        "found {} true {} tp {} precision {:.4} recall {:.4} in {:.1}s {:?}",
        found.len(),
        truth.len(),
        tp,
        tp as f64 / found.len().max(1) as f64,
        tp as f64 / truth.len() as f64,
        el.as_secs_f64(),
        stats
    );
    for &(a, b) in s.truth.iter().filter(|p| !found.contains(p)).take(show) {
        let m = ehcard_match::explain_with_stats(&s.people[a], &s.people[b], &ns);
        println!(
            "MISS {:.2}\n  {}\n  {}\n  {:?}",
            m.score,
            brief(&s.people[a]),
            brief(&s.people[b]),
            m.reasons.iter().map(|r| &r.detail).collect::<Vec<_>>()
        );
    }
    for p in pairs.iter().filter(|p| !truth.contains(&(p.a, p.b))).take(show) {
        println!(
            "FALSE {:.2}\n  {}\n  {}\n  {:?}",
            p.m.score,
            brief(&s.people[p.a]),
            brief(&s.people[p.b]),
            p.m.reasons.iter().map(|r| &r.detail).collect::<Vec<_>>()
        );
    }
}
