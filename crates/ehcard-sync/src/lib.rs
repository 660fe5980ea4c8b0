//! The sync protocol between tablets and the registry.
//!
//! - [`wire`]: request and response bodies (JSON, gzip-compressed on the
//!   wire, byte fields in base64).
//! - [`auth`]: every request after provisioning is signed with the tablet's
//!   Ed25519 key over its method, path, time, a nonce and the body's hash;
//!   the server refuses a bad signature, a stale time or a reused nonce.
//! - [`codec`]: compression with a hard limit on the inflated size.
//! - [`client`]: the tablet's sync engine. It does no I/O: it is handed a
//!   [`client::Transport`] (HTTP in the command line and the app, an
//!   in-process router in tests) and the store.
//!
//! A sync is push-then-pull. Push sends, in batches, each dirty document's
//! changes the server has not acknowledged; the server merges each batch in
//! one transaction and answers per record. Pull asks for the change feed of
//! the tablet's wards after its cursor, page by page; each page and the new
//! cursor are applied in one transaction. Both halves are idempotent, so a
//! sync cut off at any byte is finished by running it again.

pub mod auth;
pub mod client;
pub mod codec;
#[cfg(feature = "http")]
pub mod http;
pub mod wire;
