//! Time and randomness are passed in, never read from the system inside
//! domain logic, so tests are deterministic.

use chrono::{DateTime, NaiveDate, Utc};

/// Where randomness comes from (record ids, actor ids).
pub trait Entropy {
    fn fill(&mut self, buf: &mut [u8]);
}

/// A deterministic generator for tests and benchmarks (SplitMix64). Not for
/// keys: key material always comes from the operating system.
#[derive(Debug, Clone)]
pub struct SeededEntropy(u64);

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        SeededEntropy(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// Who makes a change, from which device, and when: every edit carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditContext {
    /// The moment of the edit.
    pub now: DateTime<Utc>,
    /// The worker's name or account (free text on a standalone device).
    pub worker: String,
}

impl EditContext {
    pub fn new(now: DateTime<Utc>, worker: impl Into<String>) -> Self {
        EditContext { now, worker: worker.into() }
    }

    pub fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    pub fn unix_millis(&self) -> u64 {
        u64::try_from(self.now.timestamp_millis()).unwrap_or(0)
    }
}
