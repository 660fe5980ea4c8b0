//! What the app holds between commands: where the store lives and, once
//! unlocked, the open store.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use ehcard_core::Lang;
use ehcard_store::Store;

use crate::dto::AppError;

pub struct AppState {
    pub dir: PathBuf,
    pub out: PathBuf,
    /// The unlocked store; `None` while locked. Shared with blocking work
    /// (sync, printing) that runs off the command thread.
    pub store: Arc<Mutex<Option<Store>>>,
    pub lang: Mutex<Lang>,
}

impl AppState {
    pub fn new(dir: PathBuf, out: PathBuf) -> Self {
        AppState { dir, out, store: Arc::new(Mutex::new(None)), lang: Mutex::new(Lang::En) }
    }

    pub fn lang(&self) -> Lang {
        self.lang.lock().map(|l| *l).unwrap_or_default()
    }

    pub fn guard(&self) -> Result<MutexGuard<'_, Option<Store>>, AppError> {
        self.store.lock().map_err(|_| AppError::new("internal", "the store lock was poisoned; restart the app"))
    }
}

/// Run `f` on the unlocked store, or fail with `locked`.
pub fn with_store<T>(
    slot: &Mutex<Option<Store>>,
    f: impl FnOnce(&mut Store) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let mut guard = slot.lock().map_err(|_| AppError::new("internal", "the store lock was poisoned"))?;
    match guard.as_mut() {
        Some(store) => f(store),
        None => Err(AppError::new("locked", "the app is locked: unlock it with your passphrase")),
    }
}
