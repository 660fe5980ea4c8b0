//! The registry's own signing key (permanent cards, the trust list) and the
//! trust list it publishes: every tablet key and the registry key, with
//! validity and revocation times, signed by the registry key.

use std::path::Path;

use ehcard_card::key_id;
use ehcard_card::trust::{SignedTrustList, TrustEntry, TrustList};
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::store::{DynStore, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the registry key {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the registry key {0} is damaged (not an Ed25519 PKCS#8 key); restore it from a backup")]
    Damaged(String),
    #[error("the random number generator failed")]
    Random,
}

/// Load the registry key from `path`, making a new one (mode 0600) if there is none.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    if path.exists() {
        let bytes = std::fs::read(path).map_err(io)?;
        Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| KeyError::Damaged(path.display().to_string()))?;
        return Ok(bytes);
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).map_err(|_| KeyError::Random)?;
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(pkcs8.as_ref()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(pkcs8.as_ref().to_vec())
}

/// The raw public key of a PKCS#8 Ed25519 key.
pub fn public_key(pkcs8: &[u8]) -> Vec<u8> {
    Ed25519KeyPair::from_pkcs8(pkcs8).map(|k| k.public_key().as_ref().to_vec()).unwrap_or_default()
}

/// Permanent cards for these residents, signed by the registry key: each
/// card with its QR text, ready for `ehcard_card::pdf::card_pdf` (the
/// command line prints ID-1 pages, the console A4 sheets).
pub fn permanent_cards(
    records: &[ehcard_core::Record],
    registry_pkcs8: &[u8],
    issuer: &str,
    now: i64,
) -> Result<Vec<(ehcard_card::CardData, String, ehcard_card::CardKind)>, ehcard_card::CardError> {
    use ehcard_card::{CardData, CardKind, Issue, payload};
    let kid = key_id(&public_key(registry_pkcs8));
    let issue = Issue { issuer: issuer.to_string(), kind: CardKind::Permanent, issued_at: now, expires_at: None };
    records
        .iter()
        .map(|r| {
            let card = CardData::from_record(r)?;
            let text = payload::encode(&card, &issue, &kid, registry_pkcs8)?;
            Ok((card, text, CardKind::Permanent))
        })
        .collect()
}

/// The trust list as it stands now, signed.
pub async fn trust_list(
    store: &DynStore,
    registry_pkcs8: &[u8],
    issuer: &str,
    now: i64,
) -> Result<SignedTrustList, StoreError> {
    let registry_pk = public_key(registry_pkcs8);
    let mut entries = vec![TrustEntry {
        kid: hex::encode(key_id(&registry_pk)),
        public_key: hex::encode(&registry_pk),
        who: "registry".into(),
        role: "registry".into(),
        valid_from: 0,
        valid_to: None,
        revoked_at: None,
    }];
    for d in store.devices().await? {
        let Some(pk) = d.public_key.as_deref() else { continue };
        entries.push(TrustEntry {
            kid: hex::encode(key_id(pk)),
            public_key: hex::encode(pk),
            who: format!("tablet {} ({})", d.number, d.label),
            role: "tablet".into(),
            valid_from: d.provisioned_at.unwrap_or(d.created_at),
            valid_to: None,
            revoked_at: d.revoked_at,
        });
    }
    let list = TrustList { issuer: issuer.to_string(), issued_at: now, entries };
    SignedTrustList::sign(&list, registry_pkcs8)
        .map_err(|e| StoreError::Database(format!("signing the trust list: {e}")))
}
