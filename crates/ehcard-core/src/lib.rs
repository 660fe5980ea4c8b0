//! ehcard domain model: resident and household records (format v1), their
//! validation in English and Hindi, identifiers (UUIDv7 record ids, printed
//! eHealth IDs with a Verhoeff check digit) and their CRDT documents.
//!
//! **Architecture invariant:** this crate knows nothing of storage, HTTP,
//! Tauri or an async runtime, and never reads the clock or the system's
//! randomness: both are passed in ([`env`]).

pub mod combine;
pub mod doc;
pub mod env;
pub mod ids;
pub mod lang;
pub mod matching;
pub mod merge;
pub mod model;
pub mod par;
pub mod validate;

pub use doc::{DocError, Edit, Origin, RecordDoc};
pub use env::{EditContext, Entropy, SeededEntropy};
pub use ids::{DeviceNumber, HealthId, RecordId};
pub use lang::Lang;
pub use model::{FieldValue, Fields, Input, Record, RecordKind};
pub use validate::{FieldError, Rule};
