//! COSE_Sign1 (RFC 9052) with EdDSA over Ed25519, built with ciborium:
//! tag 18 of `[protected, unprotected, payload, signature]`, the protected
//! header `{1: -8, 4: kid}`, signed over `["Signature1", protected, h'', payload]`.

use ciborium::Value;
use ring::signature::{ED25519, Ed25519KeyPair, UnparsedPublicKey};

use crate::CardError;

const TAG_SIGN1: u64 = 18;
const ALG_EDDSA: i64 = -8;

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Serialising a Value into a Vec cannot fail.
    let _ = ciborium::into_writer(v, &mut out);
    out
}

fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    cbor(&Value::Array(vec![
        Value::Text("Signature1".into()),
        Value::Bytes(protected.to_vec()),
        Value::Bytes(Vec::new()),
        Value::Bytes(payload.to_vec()),
    ]))
}

/// Sign `payload` with the PKCS#8 Ed25519 key; the whole COSE_Sign1.
pub fn sign(payload: &[u8], kid: &[u8], key_pkcs8: &[u8]) -> Result<Vec<u8>, CardError> {
    let key = Ed25519KeyPair::from_pkcs8(key_pkcs8).map_err(|_| CardError::BadKey)?;
    let protected = cbor(&Value::Map(vec![
        (Value::Integer(1.into()), Value::Integer(ALG_EDDSA.into())),
        (Value::Integer(4.into()), Value::Bytes(kid.to_vec())),
    ]));
    let signature = key.sign(&sig_structure(&protected, payload));
    Ok(cbor(&Value::Tag(
        TAG_SIGN1,
        Box::new(Value::Array(vec![
            Value::Bytes(protected),
            Value::Map(Vec::new()),
            Value::Bytes(payload.to_vec()),
            Value::Bytes(signature.as_ref().to_vec()),
        ])),
    )))
}

/// A parsed COSE_Sign1, not yet verified.
#[derive(Debug, Clone)]
pub struct Sign1 {
    pub protected: Vec<u8>,
    pub kid: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

fn int(v: &Value) -> Option<i128> {
    v.as_integer().map(i128::from)
}

pub fn parse(bytes: &[u8]) -> Result<Sign1, CardError> {
    let bad = |why: &str| CardError::NotACard(why.to_string());
    let value: Value = ciborium::from_reader(bytes).map_err(|_| bad("not CBOR"))?;
    let inner = match value {
        Value::Tag(TAG_SIGN1, inner) => *inner,
        Value::Tag(t, _) => return Err(CardError::NotACard(format!("CBOR tag {t}, not COSE_Sign1 (18)"))),
        v => v,
    };
    let Value::Array(parts) = inner else { return Err(bad("not a COSE_Sign1 array")) };
    let [Value::Bytes(protected), unprotected, Value::Bytes(payload), Value::Bytes(signature)] = &parts[..] else {
        return Err(bad("not a COSE_Sign1 array of four"));
    };
    let header: Value = if protected.is_empty() {
        Value::Map(Vec::new())
    } else {
        ciborium::from_reader(&protected[..]).map_err(|_| bad("bad header"))?
    };
    let find = |map: &Value, label: i128| -> Option<Value> {
        map.as_map()?.iter().find(|(k, _)| int(k) == Some(label)).map(|(_, v)| v.clone())
    };
    if find(&header, 1).and_then(|v| int(&v)) != Some(i128::from(ALG_EDDSA)) {
        return Err(bad("not signed with EdDSA"));
    }
    let kid = find(&header, 4)
        .or_else(|| find(unprotected, 4))
        .and_then(|v| v.as_bytes().cloned())
        .ok_or_else(|| bad("no key id"))?;
    Ok(Sign1 { protected: protected.clone(), kid, payload: payload.clone(), signature: signature.clone() })
}

/// Whether `public_key` (raw 32 bytes) signed this COSE_Sign1.
pub fn verify(s: &Sign1, public_key: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key).verify(&sig_structure(&s.protected, &s.payload), &s.signature).is_ok()
}
