//! The card's QR symbol: Base45 text in alphanumeric mode at error
//! correction level M, in the smallest version that holds it
//! (`schema/card-payload.md`).

use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, QrCode, Version};

use crate::CardError;

/// A QR symbol as a square of modules, row by row, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// `width * width` modules, row-major; `true` is dark.
    pub dark: Vec<bool>,
    /// QR version, 1 to 40.
    pub version: i16,
    /// Error-correction level: always `"M"`.
    pub ec: &'static str,
}

impl QrMatrix {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }
}

fn at_version(text: &str, v: i16) -> Option<QrCode> {
    let mut bits = Bits::new(Version::Normal(v));
    bits.push_alphanumeric_data(text.as_bytes()).ok()?;
    bits.push_terminator(EcLevel::M).ok()?;
    QrCode::with_bits(bits, EcLevel::M).ok()
}

/// The modules of `text` (QR alphanumeric characters only) at level M, in
/// the smallest version 1..=40 that holds it.
pub fn qr_modules(text: &str) -> Result<QrMatrix, CardError> {
    if !text.bytes().all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)) {
        return Err(CardError::NotACard("the QR text is not QR alphanumeric (Base45)".into()));
    }
    let (version, code) = (1..=40)
        .find_map(|v| at_version(text, v).map(|c| (v, c)))
        .ok_or_else(|| CardError::NotACard(format!("{} characters do not fit in a QR code at level M", text.len())))?;
    let dark = code.to_colors().into_iter().map(|c| c == Color::Dark).collect();
    Ok(QrMatrix { width: code.width(), dark, version, ec: "M" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smallest_version_at_m() {
        // Version 1-M holds 20 alphanumeric characters, version 2-M 38.
        assert_eq!(qr_modules(&"A".repeat(20)).map(|m| m.version), Ok(1));
        assert_eq!(qr_modules(&"A".repeat(21)).map(|m| m.version), Ok(2));
        let m = qr_modules(&"A".repeat(593)).expect("fits");
        assert_eq!((m.version, m.width, m.dark.len()), (15, 77, 77 * 77));
        assert!(qr_modules("lower case").is_err());
    }
}
