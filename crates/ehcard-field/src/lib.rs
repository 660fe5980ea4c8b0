//! The field device's workflows: provision a tablet, sync it, print and
//! verify cards. Shared by the `ehcard` command line and the field app, so
//! neither holds this logic itself.
//!
//! No printing and no clock: times come in as arguments, progress goes out
//! through callbacks, and every error has a stable [`FieldError::code`].

pub mod cards;
pub mod edits;
pub mod provision;
pub mod sync;

use ehcard_core::Entropy;
use ehcard_store::StoreError;
use ehcard_sync::client::SyncError;
use ring::rand::{SecureRandom, SystemRandom};

pub use cards::{CardVerdict, PrintedCards};
pub use provision::provision;
pub use sync::sync;

/// Why a field workflow failed. Messages are for people; codes are stable.
#[derive(Debug, thiserror::Error)]
pub enum FieldError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Card(#[from] ehcard_card::CardError),
    #[error(transparent)]
    Trust(#[from] ehcard_card::trust::TrustError),
    #[error(
        "this tablet is not provisioned, so it has no registered key to sign cards: provision it with the server's address and a one-time code"
    )]
    NotProvisioned,
    #[error("the device key is damaged")]
    BadDeviceKey,
    #[error("no registry key: provision this tablet, or give the registry key")]
    NoRegistryKey,
    #[error("no trust list yet: sync once, or give a trust list file")]
    NoTrustList,
    #[error("the trust list file is not a trust list: {0}")]
    BadTrustList(String),
    #[error("not a PNG or JPEG image: {0}")]
    NotAnImage(String),
    #[error("pdftoppm (poppler-utils) is needed to read a PDF: {0}")]
    NoPdfReader(String),
    #[error("{0} is not a readable PDF")]
    BadPdf(String),
    #[error("no QR code found (try a sharper, straighter photo)")]
    NoQrCode,
    #[error("no residents to print")]
    NothingToPrint,
    #[error("the certificate authority file cannot be read: {0}")]
    BadCa(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl FieldError {
    /// A stable code for the app and for scripts.
    pub fn code(&self) -> &str {
        match self {
            FieldError::Store(e) => e.code(),
            FieldError::Sync(e) => e.code(),
            FieldError::Card(ehcard_card::CardError::NoHealthId(_)) => "no_health_id",
            FieldError::Card(ehcard_card::CardError::NotACard(_)) => "not_a_card",
            FieldError::Card(ehcard_card::CardError::BadKey) => "bad_key",
            FieldError::Card(ehcard_card::CardError::Print(_)) => "print_failed",
            FieldError::Trust(_) => "trust_list_invalid",
            FieldError::NotProvisioned => "not_provisioned",
            FieldError::BadDeviceKey => "bad_device_key",
            FieldError::NoRegistryKey => "no_registry_key",
            FieldError::NoTrustList => "no_trust_list",
            FieldError::BadTrustList(_) => "bad_trust_list",
            FieldError::NotAnImage(_) => "not_an_image",
            FieldError::NoPdfReader(_) => "no_pdf_reader",
            FieldError::BadPdf(_) => "bad_pdf",
            FieldError::NoQrCode => "no_qr_code",
            FieldError::NothingToPrint => "nothing_to_print",
            FieldError::BadCa(_) => "bad_ca",
            FieldError::Io(_) => "io",
        }
    }
}

/// Randomness from the operating system.
pub struct OsEntropy(SystemRandom);

impl OsEntropy {
    pub fn new() -> Self {
        OsEntropy(SystemRandom::new())
    }
}

impl Default for OsEntropy {
    fn default() -> Self {
        Self::new()
    }
}

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if self.0.fill(buf).is_err() {
            // The OS generator does not fail on supported platforms; if it
            // ever does, refuse to make ids from zeros.
            panic!("the operating system's random number generator failed");
        }
    }
}
