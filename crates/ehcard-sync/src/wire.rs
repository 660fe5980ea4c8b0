//! Request and response bodies of `/v1/`. `schema/openapi.json` describes
//! the same shapes.

use serde::{Deserialize, Serialize};

/// Bytes as base64 in JSON.
pub mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// `POST /v1/provision`: a tablet redeems its one-time code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionRequest {
    pub code: String,
    /// Raw 32-byte Ed25519 public key.
    #[serde(with = "b64")]
    pub public_key: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvisionResponse {
    pub device_id: String,
    pub device_number: u32,
    pub label: String,
    pub wards: Vec<u16>,
    /// Seconds since the epoch, for the tablet's clock offset.
    pub server_time: i64,
    /// The registry's raw Ed25519 public key: it signs the trust list and
    /// permanent cards.
    #[serde(default, with = "b64")]
    pub registry_public_key: Vec<u8>,
}

/// `POST /v1/sync/push`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRequest {
    pub records: Vec<PushRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushRecord {
    pub id: String,
    /// Saved Automerge changes (or a whole saved document).
    #[serde(with = "b64")]
    pub changes: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// New changes were merged.
    Merged,
    /// The server already had every change.
    Unchanged,
    /// The changes depend on ones the server lacks: send the whole document.
    NeedFull,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResult {
    pub id: String,
    pub status: PushStatus,
    /// The server's heads after the merge (hex).
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// `POST /v1/sync/pull`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullRequest {
    /// The last feed position the tablet has applied (0 at first).
    pub cursor: i64,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullEntry {
    pub seq: i64,
    pub id: String,
    #[serde(with = "b64")]
    pub changes: Vec<u8>,
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PullResponse {
    pub entries: Vec<PullEntry>,
    /// Where the next pull starts.
    pub cursor: i64,
    /// Whether more entries wait after `cursor`.
    pub more: bool,
}

/// `GET /v1/records/{id}`: a whole document, when changes alone do not apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordResponse {
    pub id: String,
    #[serde(with = "b64")]
    pub doc: Vec<u8>,
    pub heads: Vec<String>,
}

/// Every error: a stable code for programs and a message for people.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    /// Seconds since the epoch (lets a tablet with a wrong clock correct it).
    #[serde(default)]
    pub server_time: Option<i64>,
}
