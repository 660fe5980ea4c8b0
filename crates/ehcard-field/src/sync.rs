//! Sync over HTTP with the server the tablet was provisioned against.

use ehcard_store::Store;
use ehcard_sync::client::{Progress, Summary, SyncError};
use ehcard_sync::http::Http;

use crate::FieldError;

/// Push, then pull, over HTTP. `now`: the tablet's clock (seconds).
/// `progress` is called as batches and pages complete. A summary with
/// `complete == false` means records are still to send.
pub fn sync(store: &mut Store, now: i64, progress: &mut dyn FnMut(&Progress)) -> Result<Summary, FieldError> {
    let p = store.provisioning()?.ok_or(SyncError::NotProvisioned)?;
    let mut http = Http::new(&p.server_url, p.ca_pem.as_deref()).map_err(SyncError::from)?;
    Ok(ehcard_sync::client::sync(store, &mut http, now, progress)?)
}

/// When the last complete sync finished (seconds since the epoch).
pub fn last_sync_at(store: &Store) -> Result<Option<i64>, FieldError> {
    Ok(store.setting("last_sync_at")?.and_then(|s| s.parse().ok()))
}
