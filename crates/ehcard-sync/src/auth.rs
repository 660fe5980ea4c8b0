//! Signed requests. The tablet signs
//! `ehcard-v1\n{METHOD}\n{PATH}\n{unix seconds}\n{nonce}\n{sha256(body) hex}`
//! with its Ed25519 key and sends the parts in headers. The server checks
//! the signature with the key registered at provisioning, refuses a time
//! more than [`MAX_SKEW_SECS`] away from its own, and refuses a nonce it has
//! seen (nonces are kept for twice that window).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

pub const HEADER_DEVICE: &str = "x-ehcard-device";
pub const HEADER_TIME: &str = "x-ehcard-time";
pub const HEADER_NONCE: &str = "x-ehcard-nonce";
pub const HEADER_SIGNATURE: &str = "x-ehcard-signature";

/// How far a request's time may be from the server's.
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the device key is damaged")]
    BadKey,
    #[error("the system random number generator failed")]
    Random,
}

/// A new Ed25519 key pair as PKCS#8 bytes.
pub fn generate_key() -> Result<Vec<u8>, AuthError> {
    Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map(|d| d.as_ref().to_vec()).map_err(|_| AuthError::Random)
}

pub fn public_key(pkcs8: &[u8]) -> Result<Vec<u8>, AuthError> {
    Ed25519KeyPair::from_pkcs8(pkcs8).map(|k| k.public_key().as_ref().to_vec()).map_err(|_| AuthError::BadKey)
}

pub fn canonical(method: &str, path: &str, time: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    let hash = hex::encode(digest(&SHA256, body));
    format!("ehcard-v1\n{}\n{path}\n{time}\n{nonce}\n{hash}", method.to_ascii_uppercase()).into_bytes()
}

/// The headers of a signed request.
#[derive(Debug, Clone)]
pub struct Signed {
    pub device: String,
    pub time: i64,
    pub nonce: String,
    pub signature: String,
}

impl Signed {
    pub fn headers(&self) -> [(&'static str, String); 4] {
        [
            (HEADER_DEVICE, self.device.clone()),
            (HEADER_TIME, self.time.to_string()),
            (HEADER_NONCE, self.nonce.clone()),
            (HEADER_SIGNATURE, self.signature.clone()),
        ]
    }
}

pub fn sign(pkcs8: &[u8], device: &str, method: &str, path: &str, time: i64, body: &[u8]) -> Result<Signed, AuthError> {
    let key = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| AuthError::BadKey)?;
    let mut n = [0u8; 16];
    SystemRandom::new().fill(&mut n).map_err(|_| AuthError::Random)?;
    let nonce = hex::encode(n);
    let sig = key.sign(&canonical(method, path, time, &nonce, body));
    Ok(Signed { device: device.to_string(), time, nonce, signature: STANDARD.encode(sig.as_ref()) })
}

/// Whether `signature` (base64) is `public_key`'s signature of the request.
pub fn verify(
    public_key: &[u8],
    method: &str,
    path: &str,
    time: i64,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> bool {
    let Ok(sig) = STANDARD.decode(signature.as_bytes()) else { return false };
    if nonce.len() < 16 || nonce.len() > 64 {
        return false;
    }
    UnparsedPublicKey::new(&ED25519, public_key).verify(&canonical(method, path, time, nonce, body), &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_covers_every_part() {
        let key = generate_key().unwrap();
        let pk = public_key(&key).unwrap();
        let s = sign(&key, "dev", "POST", "/v1/sync/push", 1000, b"body").unwrap();
        assert!(verify(&pk, "POST", "/v1/sync/push", 1000, &s.nonce, b"body", &s.signature));
        assert!(!verify(&pk, "POST", "/v1/sync/pull", 1000, &s.nonce, b"body", &s.signature));
        assert!(!verify(&pk, "POST", "/v1/sync/push", 1001, &s.nonce, b"body", &s.signature));
        assert!(!verify(&pk, "POST", "/v1/sync/push", 1000, "00000000000000000000000000000000", b"body", &s.signature));
        assert!(!verify(&pk, "POST", "/v1/sync/push", 1000, &s.nonce, b"bodY", &s.signature));
        let other = public_key(&generate_key().unwrap()).unwrap();
        assert!(!verify(&other, "POST", "/v1/sync/push", 1000, &s.nonce, b"body", &s.signature));
        assert!(!verify(&pk, "POST", "/v1/sync/push", 1000, &s.nonce, b"body", "not base64!"));
    }
}
