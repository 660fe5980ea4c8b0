//! Bodies are JSON compressed with gzip. Inflating stops at a limit, so a
//! small hostile body cannot expand without bound.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Largest compressed body either side sends or accepts.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest inflated body either side accepts.
pub const MAX_INFLATED: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the body is not valid gzip: {0}")]
    Gzip(String),
    #[error("the body inflates past {} MiB", MAX_INFLATED / (1024 * 1024))]
    TooLarge,
    #[error("the body is not the expected JSON: {0}")]
    Json(String),
}

pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    let json = serde_json::to_vec(value).unwrap_or_default();
    let mut enc = GzEncoder::new(Vec::with_capacity(json.len() / 3), Compression::fast());
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(&json);
    enc.finish().unwrap_or_default()
}

pub fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CodecError> {
    let mut out = Vec::new();
    let mut limited = GzDecoder::new(body).take(MAX_INFLATED as u64 + 1);
    limited.read_to_end(&mut out).map_err(|e| CodecError::Gzip(e.to_string()))?;
    if out.len() > MAX_INFLATED {
        return Err(CodecError::TooLarge);
    }
    serde_json::from_slice(&out).map_err(|e| CodecError::Json(e.to_string()))
}
