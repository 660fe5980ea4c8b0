//! Provisioning: register a new key with the server's one-time code, then
//! make the encrypted store that holds it.

use std::path::Path;

use ehcard_core::Entropy;
use ehcard_core::ids::DeviceNumber;
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, Provisioning, Store, StoreError};
use ehcard_sync::client::SyncError;
use ehcard_sync::http::Http;

use crate::FieldError;

/// What a new tablet needs to be provisioned.
#[derive(Debug, Clone)]
pub struct ProvisionRequest<'a> {
    pub server: &'a str,
    pub code: &'a str,
    /// PEM of a private certificate authority the server's certificate chains to.
    pub ca_pem: Option<&'a str>,
    pub passphrase: &'a str,
    /// The tablet's clock, seconds since the epoch (for the clock offset).
    pub now: i64,
    /// PBKDF2 iterations ([`DEFAULT_ITERATIONS`] outside tests).
    pub kdf_iterations: u32,
}

impl<'a> ProvisionRequest<'a> {
    pub fn new(server: &'a str, code: &'a str, passphrase: &'a str, now: i64) -> Self {
        ProvisionRequest { server, code, ca_pem: None, passphrase, now, kdf_iterations: DEFAULT_ITERATIONS }
    }
}

/// Provision this device: nothing is created unless the server accepts the
/// code. Returns the unlocked store.
pub fn provision(dir: &Path, req: &ProvisionRequest<'_>, entropy: &mut dyn Entropy) -> Result<Store, FieldError> {
    if ehcard_store::exists(dir) {
        return Err(StoreError::AlreadyInitialised(dir.to_path_buf()).into());
    }
    ehcard_store::keyfile::check_passphrase_strength(req.passphrase)?;
    let bad_key = |_| FieldError::BadDeviceKey;
    let key = ehcard_sync::auth::generate_key().map_err(bad_key)?;
    let public = ehcard_sync::auth::public_key(&key).map_err(bad_key)?;
    let mut http = Http::new(req.server, req.ca_pem).map_err(SyncError::from)?;
    let p = ehcard_sync::client::provision(&mut http, req.code, public)?;
    let options = CreateOptions {
        device_number: DeviceNumber::new(p.device_number).map_err(StoreError::from)?,
        device_label: p.label.clone(),
        kdf_iterations: req.kdf_iterations,
    };
    let mut store = Store::create(dir, req.passphrase, &options, entropy)?;
    store.set_provisioning(&Provisioning {
        server_url: req.server.trim_end_matches('/').to_string(),
        device_id: p.device_id.clone(),
        device_number: p.device_number,
        wards: p.wards.clone(),
        key_pkcs8_hex: hex::encode(&key),
        ca_pem: req.ca_pem.map(str::to_string),
        registry_public_key_hex: (!p.registry_public_key.is_empty()).then(|| hex::encode(&p.registry_public_key)),
    })?;
    let offset = p.server_time - req.now;
    store.set_setting("clock_offset", &offset.to_string())?;
    Ok(store)
}
