//! The trust list: the keys that may sign cards (each tablet's, and the
//! registry's), when they were valid and when they were revoked, signed by
//! the registry key. A verifier with a trust list checks cards offline.

use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use crate::payload::{self, Decoded};
use crate::{CardError, cose, key_id};

/// One signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustEntry {
    /// Hex of [`key_id`].
    pub kid: String,
    /// Hex of the raw 32-byte Ed25519 public key.
    pub public_key: String,
    /// The tablet or registry the key belongs to.
    pub who: String,
    /// `tablet` or `registry`.
    pub role: String,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustList {
    pub issuer: String,
    pub issued_at: i64,
    pub entries: Vec<TrustEntry>,
}

/// A trust list as published: its JSON text and the registry's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTrustList {
    /// The list, as the JSON text that was signed.
    pub list: String,
    /// Hex of the registry key's id.
    pub kid: String,
    /// Hex of the Ed25519 signature over `list`'s bytes.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("the trust list is not signed by this registry's key")]
    BadSignature,
    #[error("the trust list is damaged: {0}")]
    Damaged(String),
    #[error("the registry key is damaged")]
    BadKey,
}

impl SignedTrustList {
    pub fn sign(list: &TrustList, registry_pkcs8: &[u8]) -> Result<SignedTrustList, TrustError> {
        let key = Ed25519KeyPair::from_pkcs8(registry_pkcs8).map_err(|_| TrustError::BadKey)?;
        let text = serde_json::to_string(list).map_err(|e| TrustError::Damaged(e.to_string()))?;
        let sig = key.sign(text.as_bytes());
        use ring::signature::KeyPair;
        Ok(SignedTrustList {
            list: text,
            kid: hex::encode(key_id(key.public_key().as_ref())),
            signature: hex::encode(sig.as_ref()),
        })
    }

    /// The list, if `registry_public_key` signed it.
    pub fn open(&self, registry_public_key: &[u8]) -> Result<TrustList, TrustError> {
        let sig = hex::decode(&self.signature).map_err(|_| TrustError::Damaged("signature is not hex".into()))?;
        UnparsedPublicKey::new(&ED25519, registry_public_key)
            .verify(self.list.as_bytes(), &sig)
            .map_err(|_| TrustError::BadSignature)?;
        serde_json::from_str(&self.list).map_err(|e| TrustError::Damaged(e.to_string()))
    }
}

/// Why a card is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Invalid {
    NotACard { detail: String },
    UnknownKey { kid: String },
    BadSignature,
    RevokedKey { revoked_at: i64 },
    KeyNotValidThen,
    Expired { expired_at: i64 },
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::NotACard { detail } => write!(f, "not a card ({detail})"),
            Invalid::UnknownKey { kid } => {
                write!(f, "unknown key {kid}: not in the trust list (update it and try again)")
            }
            Invalid::BadSignature => write!(f, "bad signature: the card was altered or forged"),
            Invalid::RevokedKey { .. } => write!(f, "revoked key: the card was signed after its key was revoked"),
            Invalid::KeyNotValidThen => write!(f, "the key was not valid when the card was issued"),
            Invalid::Expired { .. } => write!(f, "expired"),
        }
    }
}

/// The verdict on a card, with what it says when it could be read.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub decoded: Option<Decoded>,
    pub signer: Option<TrustEntry>,
    pub result: Result<(), Invalid>,
}

/// Check a card's QR text against a trust list at time `now` (seconds).
pub fn verify(qr_text: &str, list: &TrustList, now: i64) -> Verdict {
    let decoded = match payload::decode(qr_text) {
        Ok(d) => d,
        Err(CardError::NotACard(detail)) => {
            return Verdict { decoded: None, signer: None, result: Err(Invalid::NotACard { detail }) };
        }
        Err(e) => {
            return Verdict { decoded: None, signer: None, result: Err(Invalid::NotACard { detail: e.to_string() }) };
        }
    };
    let kid = hex::encode(&decoded.kid);
    let Some(entry) = list.entries.iter().find(|e| e.kid == kid).cloned() else {
        return Verdict { decoded: Some(decoded), signer: None, result: Err(Invalid::UnknownKey { kid }) };
    };
    let result = check(&decoded, &entry, now);
    Verdict { decoded: Some(decoded), signer: Some(entry), result }
}

fn check(d: &Decoded, entry: &TrustEntry, now: i64) -> Result<(), Invalid> {
    let pk = hex::decode(&entry.public_key).map_err(|_| Invalid::BadSignature)?;
    if !cose::verify(&d.sign1, &pk) {
        return Err(Invalid::BadSignature);
    }
    let issued = d.issue.issued_at;
    if let Some(at) = entry.revoked_at
        && at <= issued
    {
        return Err(Invalid::RevokedKey { revoked_at: at });
    }
    if issued < entry.valid_from || entry.valid_to.is_some_and(|to| issued > to) {
        return Err(Invalid::KeyNotValidThen);
    }
    if let Some(exp) = d.issue.expires_at
        && exp < now
    {
        return Err(Invalid::Expired { expired_at: exp });
    }
    Ok(())
}
