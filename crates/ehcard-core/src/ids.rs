//! Identifiers: internal record ids (UUIDv7), device numbers and printed
//! eHealth IDs (device number + per-device sequence + Verhoeff check digit).
//!
//! An eHealth ID is twelve digits, `DDDDD SSSSSS C`: five digits of the
//! device number the registry assigned at provisioning, six digits of that
//! device's own sequence, and a Verhoeff check digit over the first eleven.
//! It is printed in groups of four (device 42, sequence 1: `0004 2000 0014`). Because each device
//! owns its number and its sequence, ids are made offline without collisions.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::env::Entropy;

/// Internal id of a resident or household document (UUIDv7, time-ordered).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(Uuid);

impl RecordId {
    /// A new UUIDv7 from a time (milliseconds since the Unix epoch) and
    /// randomness, both passed in.
    pub fn new_v7(unix_millis: u64, entropy: &mut dyn Entropy) -> Self {
        let mut random = [0u8; 10];
        entropy.fill(&mut random);
        RecordId::v7_from(unix_millis, &random)
    }

    /// A UUIDv7 of this moment from 10 random bytes the caller drew (many
    /// ids at once: one draw from the operating system for all of them).
    pub fn v7_from(unix_millis: u64, random: &[u8; 10]) -> Self {
        RecordId(uuid::Builder::from_unix_timestamp_millis(unix_millis, random).into_uuid())
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_hyphenated().fmt(f)
    }
}

/// Why a text is not a record id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIdError {
    #[error("not a UUID")]
    NotUuid,
    #[error("must be a UUIDv7 (this one is version {0})")]
    NotV7(usize),
}

impl FromStr for RecordId {
    type Err = RecordIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uuid = Uuid::try_parse(s.trim()).map_err(|_| RecordIdError::NotUuid)?;
        match uuid.get_version_num() {
            7 => Ok(RecordId(uuid)),
            v => Err(RecordIdError::NotV7(v)),
        }
    }
}

/// The number the registry assigns to a device at provisioning (1..=99,999;
/// 0 is a standalone device that was never provisioned).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DeviceNumber(u32);

impl DeviceNumber {
    pub const MAX: u32 = 99_999;

    pub fn new(n: u32) -> Result<Self, HealthIdError> {
        if n > Self::MAX {
            return Err(HealthIdError::DeviceOutOfRange(n));
        }
        Ok(DeviceNumber(n))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Whether the registry keeps this number for itself (ids of residents
    /// imported from the electoral roll): never given to a tablet.
    pub fn is_registry(self) -> bool {
        REGISTRY_DEVICES.contains(&self.0)
    }
}

/// Device numbers the registry keeps for residents it creates itself (the
/// electoral-roll import): 10,000 numbers of 999,999 ids each, so a roll
/// resident's eHealth ID can never collide with one a tablet made.
pub const REGISTRY_DEVICES: std::ops::RangeInclusive<u32> = 90_000..=99_999;

impl fmt::Display for DeviceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}", self.0)
    }
}

/// A printed eHealth ID: twelve digits with a Verhoeff check digit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HealthId(u64);

/// Why a text or a pair of numbers is not an eHealth ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HealthIdError {
    #[error("an eHealth ID has 12 digits (spaces allowed), this has {0}")]
    Length(usize),
    #[error("an eHealth ID has only digits and spaces")]
    NotDigits,
    #[error("check digit does not match: a digit was mistyped")]
    CheckDigit,
    #[error("device number {0} is out of range (0-99999)")]
    DeviceOutOfRange(u32),
    #[error("this device has used all 999,999 of its eHealth IDs; ask the registry for a new device number")]
    SequenceExhausted,
    #[error("the registry has used all of its eHealth IDs (device numbers 90000-99999)")]
    RegistryExhausted,
}

impl HealthId {
    pub const MAX_SEQUENCE: u32 = 999_999;

    /// The id a device makes for its `sequence`-th enrollment.
    pub fn new(device: DeviceNumber, sequence: u32) -> Result<Self, HealthIdError> {
        if sequence > Self::MAX_SEQUENCE {
            return Err(HealthIdError::SequenceExhausted);
        }
        let body = u64::from(device.get()) * 1_000_000 + u64::from(sequence);
        let digits = digits_of(body, 11);
        let check = verhoeff::check_digit(&digits);
        Ok(HealthId(body * 10 + u64::from(check)))
    }

    /// The eHealth ID of the `k`-th resident the registry ever imported
    /// (k from 0): device `90,000 + k / 1,000,000`, sequence `k % 1,000,000`.
    pub fn registry(k: u64) -> Result<Self, HealthIdError> {
        let device = u64::from(*REGISTRY_DEVICES.start()) + k / 1_000_000;
        let device = u32::try_from(device)
            .ok()
            .filter(|d| REGISTRY_DEVICES.contains(d))
            .ok_or(HealthIdError::RegistryExhausted)?;
        HealthId::new(DeviceNumber(device), (k % 1_000_000) as u32)
    }

    pub fn device(&self) -> DeviceNumber {
        DeviceNumber((self.0 / 10_000_000) as u32)
    }

    pub fn sequence(&self) -> u32 {
        ((self.0 / 10) % 1_000_000) as u32
    }

    /// The twelve digits with no spaces (the form stored and put in QR codes).
    pub fn compact(&self) -> String {
        format!("{:012}", self.0)
    }
}

fn digits_of(mut n: u64, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for slot in out.iter_mut().rev() {
        *slot = (n % 10) as u8;
        n /= 10;
    }
    out
}

impl fmt::Display for HealthId {
    /// Groups of four: `0004 2000 0014`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.compact();
        write!(f, "{} {} {}", &s[0..4], &s[4..8], &s[8..12])
    }
}

impl FromStr for HealthId {
    type Err = HealthIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut digits = Vec::with_capacity(12);
        for c in s.trim().chars() {
            match c {
                '0'..='9' => digits.push(c as u8 - b'0'),
                ' ' | '-' => {}
                _ => return Err(HealthIdError::NotDigits),
            }
        }
        if digits.len() != 12 {
            return Err(HealthIdError::Length(digits.len()));
        }
        if !verhoeff::validate(&digits) {
            return Err(HealthIdError::CheckDigit);
        }
        let n = digits.iter().fold(0u64, |acc, d| acc * 10 + u64::from(*d));
        Ok(HealthId(n))
    }
}

impl Serialize for HealthId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for HealthId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The Verhoeff check digit (dihedral group D5), which catches every
/// single-digit error and every swap of adjacent digits.
pub mod verhoeff {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];

    /// The digit to append to `digits` (each 0-9).
    pub fn check_digit(digits: &[u8]) -> u8 {
        let mut c = 0u8;
        for (i, d) in digits.iter().rev().enumerate() {
            c = D[c as usize][P[(i + 1) % 8][*d as usize % 10] as usize];
        }
        INV[c as usize]
    }

    /// Whether `digits` ends in a correct check digit.
    pub fn validate(digits: &[u8]) -> bool {
        let mut c = 0u8;
        for (i, d) in digits.iter().rev().enumerate() {
            c = D[c as usize][P[i % 8][*d as usize % 10] as usize];
        }
        c == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verhoeff_known_vector() {
        // The textbook example: 236 has check digit 3.
        assert_eq!(verhoeff::check_digit(&[2, 3, 6]), 3);
        assert!(verhoeff::validate(&[2, 3, 6, 3]));
        assert!(!verhoeff::validate(&[2, 3, 6, 4]));
        // 12345 -> 1
        assert_eq!(verhoeff::check_digit(&[1, 2, 3, 4, 5]), 1);
    }

    #[test]
    fn health_id_round_trip_and_grouping() {
        let id = HealthId::new(DeviceNumber::new(42).unwrap(), 17).unwrap();
        assert_eq!(id.device().get(), 42);
        assert_eq!(id.sequence(), 17);
        let shown = id.to_string();
        assert_eq!(shown.len(), 14);
        assert!(shown.starts_with("0004 2000 017"), "{shown}");
        assert_eq!(shown.parse::<HealthId>().unwrap(), id);
        assert_eq!(id.compact().parse::<HealthId>().unwrap(), id);
    }

    #[test]
    fn every_single_digit_typo_and_adjacent_swap_is_caught() {
        let id = HealthId::new(DeviceNumber::new(12_345).unwrap(), 678_901).unwrap();
        let s: Vec<u8> = id.compact().bytes().map(|b| b - b'0').collect();
        for pos in 0..12 {
            for d in 0..10u8 {
                if d == s[pos] {
                    continue;
                }
                let mut t = s.clone();
                t[pos] = d;
                assert!(!verhoeff::validate(&t), "typo at {pos} not caught");
            }
        }
        for pos in 0..11 {
            if s[pos] == s[pos + 1] {
                continue;
            }
            let mut t = s.clone();
            t.swap(pos, pos + 1);
            assert!(!verhoeff::validate(&t), "swap at {pos} not caught");
        }
    }

    #[test]
    fn health_id_rejects_bad_text() {
        assert_eq!("1234".parse::<HealthId>(), Err(HealthIdError::Length(4)));
        assert_eq!("1234 5678 90ab".parse::<HealthId>(), Err(HealthIdError::NotDigits));
        let good = HealthId::new(DeviceNumber::new(1).unwrap(), 1).unwrap().compact();
        let mut bad = good.into_bytes();
        bad[3] = if bad[3] == b'9' { b'8' } else { bad[3] + 1 };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(bad.parse::<HealthId>(), Err(HealthIdError::CheckDigit));
        assert_eq!(HealthId::new(DeviceNumber::new(1).unwrap(), 1_000_000), Err(HealthIdError::SequenceExhausted));
        assert!(DeviceNumber::new(100_000).is_err());
    }

    #[test]
    fn registry_ids_use_the_reserved_devices() {
        let first = HealthId::registry(0).unwrap();
        assert_eq!((first.device().get(), first.sequence()), (90_000, 0));
        assert!(first.device().is_registry());
        let later = HealthId::registry(2_000_005).unwrap();
        assert_eq!((later.device().get(), later.sequence()), (90_002, 5));
        assert_eq!(HealthId::registry(10_000_000_000), Err(HealthIdError::RegistryExhausted));
        assert!(!DeviceNumber::new(89_999).unwrap().is_registry());
    }

    #[test]
    fn record_ids_are_v7_and_time_ordered() {
        let mut e = crate::env::SeededEntropy::new(7);
        let a = RecordId::new_v7(1_700_000_000_000, &mut e);
        let b = RecordId::new_v7(1_700_000_000_001, &mut e);
        assert!(a < b);
        assert_eq!(a.to_string().parse::<RecordId>().unwrap(), a);
        assert_eq!("6ba7b810-9dad-11d1-80b4-00c04fd430c8".parse::<RecordId>(), Err(RecordIdError::NotV7(1)));
        assert_eq!("nope".parse::<RecordId>(), Err(RecordIdError::NotUuid));
    }
}
