//! The eHealth card's QR payload, following MOSIP Claim 169:
//!
//! identity (CWT claim 169) + our clinical summary (private CWT claim, only
//! with consent) → CWT (iss, iat, exp) → COSE_Sign1 with Ed25519 (kid in the
//! protected header) → zlib → Base45, which is QR alphanumeric text.
//! `schema/card-payload.md` documents the layout.
//!
//! A verifier holds a [`trust::TrustList`] (signed by the registry key) and
//! checks a card with no network: [`trust::verify`].
//!
//! [`pdf::card_pdf`] prints cards (fronts and backs with the QR from
//! [`qr::qr_modules`]) to PDF bytes, with the fonts embedded.
//!
//! **Architecture invariant:** no I/O and no clock; keys, times and texts
//! are passed in.

pub mod cose;
pub mod payload;
pub mod pdf;
pub mod qr;
pub mod text;
pub mod trust;

pub use payload::{CardData, CardKind, Clinical, Issue};

/// Why a card could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("record {0} has no eHealth ID yet: sync or provision the tablet first")]
    NoHealthId(String),
    #[error("not a card: {0}")]
    NotACard(String),
    #[error("the signing key is damaged")]
    BadKey,
    #[error("cannot print the card: {0}")]
    Print(String),
}

/// A key id: the first 8 bytes of SHA-256 of the raw public key.
pub fn key_id(public_key: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, public_key).as_ref()[..8].to_vec()
}
