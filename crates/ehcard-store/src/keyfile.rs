//! The key file: a random 256-bit data key, wrapped (AES-256-GCM) under a
//! key derived from the worker's passphrase with PBKDF2-HMAC-SHA256.
//!
//! Changing the passphrase rewraps the data key; the database is untouched.
//! The file holds no personal data: a salt, a nonce, the wrapped key and the
//! KDF parameters. It is replaced atomically (write, fsync, rename).

use std::fs;
use std::io::Write;
use std::num::NonZeroU32;
use std::path::Path;

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::StoreError;

/// The iteration count every new key file uses (OWASP's figure for
/// PBKDF2-HMAC-SHA256).
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// The least a key file may use: a lower count in a file is refused, so a
/// tampered file cannot weaken the passphrase.
pub const MIN_ITERATIONS: u32 = 600_000;
/// Shortest passphrase accepted.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

const AAD: &[u8] = b"ehcard data key v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub version: u32,
    pub kdf: String,
    pub iterations: u32,
    pub salt: String,
    pub nonce: String,
    pub wrapped_key: String,
}

/// The unwrapped data key, wiped from memory when dropped.
pub struct DataKey(pub(crate) Zeroizing<[u8; 32]>);

impl DataKey {
    pub fn generate(rng: &SystemRandom) -> Result<Self, StoreError> {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill(k.as_mut()).map_err(|_| StoreError::Random)?;
        Ok(DataKey(k))
    }

    /// SQLCipher's raw-key form: `x'…'`.
    pub(crate) fn sqlcipher_pragma(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", hex::encode(self.0.as_ref())))
    }
}

fn derive(passphrase: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut kek = Zeroizing::new([0u8; 32]);
    let n = NonZeroU32::new(iterations.max(1)).unwrap_or(NonZeroU32::MIN);
    pbkdf2::derive(pbkdf2::PBKDF2_HMAC_SHA256, n, salt, passphrase.as_bytes(), kek.as_mut());
    kek
}

fn aead_key(kek: &[u8; 32]) -> Result<LessSafeKey, StoreError> {
    UnboundKey::new(&AES_256_GCM, kek).map(LessSafeKey::new).map_err(|_| StoreError::Random)
}

pub fn check_passphrase_strength(passphrase: &str) -> Result<(), StoreError> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(StoreError::WeakPassphrase(MIN_PASSPHRASE_CHARS));
    }
    Ok(())
}

impl KeyFile {
    /// Wrap `key` under `passphrase`.
    pub fn wrap(key: &DataKey, passphrase: &str, iterations: u32, rng: &SystemRandom) -> Result<Self, StoreError> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill(&mut salt).map_err(|_| StoreError::Random)?;
        rng.fill(&mut nonce).map_err(|_| StoreError::Random)?;
        let kek = derive(passphrase, &salt, iterations);
        let mut buf = key.0.to_vec();
        aead_key(&kek)?
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut buf)
            .map_err(|_| StoreError::Random)?;
        Ok(KeyFile {
            version: 1,
            kdf: "pbkdf2-hmac-sha256".into(),
            iterations,
            salt: hex::encode(salt),
            nonce: hex::encode(nonce),
            wrapped_key: hex::encode(buf),
        })
    }

    /// Unwrap the data key; a wrong passphrase is [`StoreError::WrongPassphrase`].
    pub fn unwrap_key(&self, passphrase: &str) -> Result<DataKey, StoreError> {
        let damaged = |why: &str| StoreError::KeyFile(why.to_string());
        if self.version != 1 || self.kdf != "pbkdf2-hmac-sha256" {
            return Err(damaged("unknown key file version or KDF"));
        }
        if self.iterations < MIN_ITERATIONS {
            return Err(damaged("KDF iteration count below the minimum"));
        }
        let salt = hex::decode(&self.salt).map_err(|_| damaged("salt is not hex"))?;
        let nonce: [u8; NONCE_LEN] = hex::decode(&self.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| damaged("nonce is not 12 bytes of hex"))?;
        let mut buf = hex::decode(&self.wrapped_key).map_err(|_| damaged("wrapped key is not hex"))?;
        if buf.len() != 32 + AES_256_GCM.tag_len() {
            return Err(damaged("wrapped key has the wrong length"));
        }
        let kek = derive(passphrase, &salt, self.iterations);
        let plain = aead_key(&kek)?
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(AAD), &mut buf)
            .map_err(|_| StoreError::WrongPassphrase)?;
        let mut k = Zeroizing::new([0u8; 32]);
        k.copy_from_slice(plain);
        buf.iter_mut().for_each(|b| *b = 0);
        Ok(DataKey(k))
    }

    pub fn read(path: &Path) -> Result<Self, StoreError> {
        let text = fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(|e| StoreError::KeyFile(format!("not a key file: {e}")))
    }

    /// Write to `path` atomically: a crash leaves the old file or the new.
    pub fn write_atomic(&self, path: &Path) -> Result<(), StoreError> {
        let tmp = path.with_extension("key.tmp");
        let json = serde_json::to_vec_pretty(self).map_err(|e| StoreError::KeyFile(e.to_string()))?;
        {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&json)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent()
            && let Ok(d) = fs::File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}
