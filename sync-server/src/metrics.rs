//! Prometheus counters for this instance (`/metrics`). Each instance counts
//! its own requests; a Prometheus server adds them up.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ehcard_sync::wire::PushStatus;

use crate::store::PushOutcome;

#[derive(Default)]
pub struct Metrics {
    merged: AtomicU64,
    unchanged: AtomicU64,
    need_full: AtomicU64,
    pulled: AtomicU64,
    /// (route, count, total seconds)
    requests: Mutex<Vec<(&'static str, u64, f64)>>,
}

impl Metrics {
    pub fn pushed(&self, outcomes: &[PushOutcome]) {
        for o in outcomes {
            let c = match o.status {
                PushStatus::Merged => &self.merged,
                PushStatus::Unchanged => &self.unchanged,
                PushStatus::NeedFull => &self.need_full,
            };
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn pulled(&self, n: usize) {
        self.pulled.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn observe(&self, route: &'static str, started: Instant) {
        let secs = started.elapsed().as_secs_f64();
        if let Ok(mut r) = self.requests.lock() {
            match r.iter_mut().find(|(name, _, _)| *name == route) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += secs;
                }
                None => r.push((route, 1, secs)),
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP ehcard_records_pushed_total Records received in pushes, by outcome.\n");
        out.push_str("# TYPE ehcard_records_pushed_total counter\n");
        for (label, c) in [("merged", &self.merged), ("unchanged", &self.unchanged), ("need_full", &self.need_full)] {
            out.push_str(&format!(
                "ehcard_records_pushed_total{{outcome=\"{label}\"}} {}\n",
                c.load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP ehcard_feed_entries_pulled_total Change-feed entries sent to tablets.\n");
        out.push_str("# TYPE ehcard_feed_entries_pulled_total counter\n");
        out.push_str(&format!("ehcard_feed_entries_pulled_total {}\n", self.pulled.load(Ordering::Relaxed)));
        out.push_str("# HELP ehcard_request_seconds Time spent answering successful requests, by route.\n");
        out.push_str("# TYPE ehcard_request_seconds summary\n");
        if let Ok(r) = self.requests.lock() {
            for (route, count, secs) in r.iter() {
                out.push_str(&format!("ehcard_request_seconds_count{{route=\"{route}\"}} {count}\n"));
                out.push_str(&format!("ehcard_request_seconds_sum{{route=\"{route}\"}} {secs:.6}\n"));
            }
        }
        out
    }
}
