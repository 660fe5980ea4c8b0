//! The QR text: zlib-compressed bytes in Base45 (RFC 9285), whose alphabet
//! is exactly QR's alphanumeric mode.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::CardError;

/// Largest payload a card may inflate to (a QR holds far less).
const MAX_INFLATED: u64 = 64 * 1024;

pub fn to_text(bytes: &[u8]) -> String {
    let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(bytes);
    base45::encode(enc.finish().unwrap_or_default())
}

pub fn from_text(text: &str) -> Result<Vec<u8>, CardError> {
    let compressed = base45::decode(text.trim()).map_err(|_| CardError::NotACard("not Base45 text".into()))?;
    let mut out = Vec::new();
    ZlibDecoder::new(&compressed[..])
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|_| CardError::NotACard("not zlib-compressed".into()))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(CardError::NotACard("the payload is too large for a card".into()));
    }
    Ok(out)
}
