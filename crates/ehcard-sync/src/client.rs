//! The tablet's sync engine: push what the server lacks, then pull what
//! other tablets sent. It is handed a [`Transport`] and the store; it never
//! opens a socket itself.

use std::collections::HashMap;

use ehcard_core::ids::RecordId;
use ehcard_core::merge::heads_from_hex;
use ehcard_store::{Incoming, Outgoing, Store, StoreError};
use serde::Serialize;

use crate::auth;
use crate::codec;
use crate::wire::{
    ErrorBody, ProvisionRequest, ProvisionResponse, PullRequest, PullResponse, PushRecord, PushRequest, PushResponse,
    PushStatus, RecordResponse,
};

/// Records per push batch, and the byte budget of one batch.
pub const PUSH_BATCH: usize = 500;
pub const PUSH_BYTES: usize = 4 * 1024 * 1024;
/// Feed entries per pull page.
pub const PULL_PAGE: u32 = 1000;

/// How requests reach the server.
pub trait Transport {
    /// Send a request; the body is already compressed. Returns the status
    /// and the (compressed) response body.
    fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&'static str, String)],
    ) -> Result<(u16, Vec<u8>), TransportError>;
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Unreachable(String),
    #[error("the connection broke: {0}")]
    Broken(String),
    #[error("{0}")]
    Untrusted(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("this tablet is not provisioned: run `ehcard init --server URL --code CODE`")]
    NotProvisioned,
    #[error(
        "no network: the server could not be reached ({0}). Your records are safe on this tablet; sync again when there is a network"
    )]
    Unreachable(String),
    #[error("the connection broke during sync ({0}). What the server confirmed is kept; sync again to finish")]
    Broken(String),
    #[error(
        "the server's certificate is not trusted ({0}). If the registry uses its own certificate authority, pass --ca FILE with its certificate"
    )]
    Untrusted(String),
    #[error(
        "this tablet has been revoked by the registry: {0}. Ask your supervisor; records not yet sent stay on this tablet"
    )]
    Revoked(String),
    #[error("the server refused the request ({code}): {message}")]
    Refused { code: String, message: String },
    #[error("the server failed (HTTP {status}): {message}. Try again later; nothing confirmed is lost")]
    Server { status: u16, message: String },
    #[error("the server's answer could not be read: {0}")]
    Protocol(String),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
}

impl SyncError {
    /// A stable code for the app.
    pub fn code(&self) -> &str {
        match self {
            SyncError::NotProvisioned => "not_provisioned",
            SyncError::Unreachable(_) => "unreachable",
            SyncError::Broken(_) => "connection_broken",
            SyncError::Untrusted(_) => "untrusted_certificate",
            SyncError::Revoked(_) => "device_revoked",
            SyncError::Refused { code, .. } => code,
            SyncError::Server { .. } => "server_error",
            SyncError::Protocol(_) => "protocol",
            SyncError::Store(e) => e.code(),
        }
    }
}

impl From<TransportError> for SyncError {
    fn from(e: TransportError) -> Self {
        match e {
            TransportError::Unreachable(m) => SyncError::Unreachable(m),
            TransportError::Broken(m) => SyncError::Broken(m),
            TransportError::Untrusted(m) => SyncError::Untrusted(m),
        }
    }
}

/// Where a sync is, for a progress display.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub phase: &'static str,
    pub records_up: u64,
    pub records_up_total: u64,
    pub bytes_up: u64,
    pub records_down: u64,
    pub bytes_down: u64,
}

/// What a sync did. `complete` is true only when every local change was
/// confirmed by the server and the feed was read to its end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub complete: bool,
    pub pushed: u64,
    pub merged: u64,
    pub unchanged: u64,
    pub bytes_up: u64,
    pub pulled: u64,
    pub created: u64,
    pub updated: u64,
    pub bytes_down: u64,
    pub conflicts: Vec<String>,
    pub still_pending: u64,
    pub cursor: i64,
    /// Keys in the trust list now kept on the tablet (for checking cards offline).
    pub trusted_keys: usize,
}

/// Provision: register `public_key` with the one-time `code`.
pub fn provision(
    transport: &mut dyn Transport,
    code: &str,
    public_key: Vec<u8>,
) -> Result<ProvisionResponse, SyncError> {
    let body = codec::encode(&ProvisionRequest { code: code.trim().to_string(), public_key });
    let (status, resp) = transport.send("POST", "/v1/provision", body, &[])?;
    decode_ok(status, &resp)
}

fn decode_ok<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, SyncError> {
    if status == 200 {
        return codec::decode(body).map_err(|e| SyncError::Protocol(e.to_string()));
    }
    let err: Option<ErrorBody> = codec::decode(body).ok();
    let (code, message) = match err {
        Some(e) => (e.code, e.message),
        None => ("http_".to_string() + &status.to_string(), String::from_utf8_lossy(body).chars().take(200).collect()),
    };
    Err(match (status, code.as_str()) {
        (403, "device_revoked") => SyncError::Revoked(message),
        (s, _) if s >= 500 => SyncError::Server { status: s, message },
        _ => SyncError::Refused { code, message },
    })
}

/// A signed session with the server for one provisioned tablet.
struct Session<'a> {
    transport: &'a mut dyn Transport,
    key: Vec<u8>,
    device: String,
    now: i64,
    offset: i64,
}

impl Session<'_> {
    fn call<Req: Serialize, Resp: serde::de::DeserializeOwned>(
        &mut self,
        method: &str,
        path: &str,
        req: Option<&Req>,
        sent: &mut u64,
        received: &mut u64,
    ) -> Result<Resp, SyncError> {
        let body = req.map(codec::encode).unwrap_or_default();
        for attempt in 0..2 {
            let signed = auth::sign(&self.key, &self.device, method, path, self.now + self.offset, &body)
                .map_err(|e| SyncError::Protocol(e.to_string()))?;
            *sent += body.len() as u64;
            let (status, resp) = self.transport.send(method, path, body.clone(), &signed.headers())?;
            *received += resp.len() as u64;
            if status == 401 && attempt == 0 {
                // A tablet clock far off: correct it once from the server's.
                if let Ok(e) = codec::decode::<ErrorBody>(&resp)
                    && e.code == "request_expired"
                    && let Some(t) = e.server_time
                {
                    self.offset = t - self.now;
                    continue;
                }
            }
            return decode_ok(status, &resp);
        }
        Err(SyncError::Protocol("the server kept refusing the request time".into()))
    }
}

/// Push, then pull. `now` is the tablet's clock (seconds since the epoch).
pub fn sync(
    store: &mut Store,
    transport: &mut dyn Transport,
    now: i64,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, SyncError> {
    let p = store.provisioning()?.ok_or(SyncError::NotProvisioned)?;
    let key = hex::decode(&p.key_pkcs8_hex).map_err(|_| SyncError::Protocol("damaged device key".into()))?;
    let offset = store.setting("clock_offset")?.and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut s = Session { transport, key, device: p.device_id.clone(), now, offset };
    let mut summary = Summary::default();
    let mut prog = Progress { phase: "push", records_up_total: store.pending_count()?, ..Progress::default() };
    progress(&prog);

    // Push: every dirty document, in batches. Documents the server could
    // not take as changes are sent whole on a second pass.
    let mut need_full: Vec<RecordId> = Vec::new();
    for pass in 0..2 {
        if pass == 1 {
            need_full.sort();
            need_full.dedup();
        }
        let mut after = 0i64;
        loop {
            let mut batch = store.pending(after, PUSH_BATCH, PUSH_BYTES)?;
            let Some(last) = batch.last().map(|o| o.rid) else { break };
            after = last;
            if pass == 1 {
                batch.retain(|o| need_full.contains(&o.id));
                for o in batch.iter_mut() {
                    o.changes = store.whole_doc(&o.id)?;
                }
                if batch.is_empty() {
                    continue;
                }
            }
            let req = PushRequest {
                records: batch
                    .iter()
                    .map(|o| PushRecord { id: o.id.to_string(), changes: o.changes.clone() })
                    .collect(),
            };
            let resp: PushResponse =
                s.call("POST", "/v1/sync/push", Some(&req), &mut summary.bytes_up, &mut summary.bytes_down)?;
            let by_id: HashMap<String, &Outgoing> = batch.iter().map(|o| (o.id.to_string(), o)).collect();
            let mut acks = Vec::new();
            for r in &resp.results {
                let Some(o) = by_id.get(r.id.as_str()) else { continue };
                match r.status {
                    PushStatus::Merged => {
                        summary.merged += 1;
                        acks.push((*o, true));
                    }
                    PushStatus::Unchanged => {
                        summary.unchanged += 1;
                        acks.push((*o, true));
                    }
                    PushStatus::NeedFull if pass == 0 => need_full.push(o.id),
                    PushStatus::NeedFull => {
                        return Err(SyncError::Protocol(format!(
                            "the server could not take record {} even whole",
                            o.id
                        )));
                    }
                }
            }
            summary.pushed += acks.len() as u64;
            store.acknowledge(&acks)?;
            prog.records_up = summary.pushed;
            prog.bytes_up = summary.bytes_up;
            progress(&prog);
        }
        if need_full.is_empty() {
            break;
        }
    }

    // Pull: the feed of this tablet's wards after its cursor.
    prog.phase = "pull";
    progress(&prog);
    let mut cursor: i64 = store.setting("pull_cursor")?.and_then(|c| c.parse().ok()).unwrap_or(0);
    loop {
        let req = PullRequest { cursor, limit: PULL_PAGE };
        let mut down = 0u64;
        let page: PullResponse = s.call("POST", "/v1/sync/pull", Some(&req), &mut summary.bytes_up, &mut down)?;
        summary.bytes_down += down;
        let mut entries = Vec::with_capacity(page.entries.len());
        for e in &page.entries {
            let id: RecordId = e.id.parse().map_err(|_| SyncError::Protocol(format!("bad record id {}", e.id)))?;
            let heads = heads_from_hex(&e.heads).ok_or_else(|| SyncError::Protocol("bad heads".into()))?;
            entries.push(Incoming { id, changes: e.changes.clone(), heads });
        }
        let mut applied = store.apply_pulled(&entries, page.cursor)?;
        // A record whose changes could not apply: fetch it whole.
        for id in std::mem::take(&mut applied.need_full) {
            let path = format!("/v1/records/{id}");
            let mut d = 0u64;
            let whole: RecordResponse = s.call::<(), _>("GET", &path, None, &mut summary.bytes_up, &mut d)?;
            summary.bytes_down += d;
            let rid: RecordId = id.parse().map_err(|_| SyncError::Protocol("bad id".into()))?;
            let heads = heads_from_hex(&whole.heads).ok_or_else(|| SyncError::Protocol("bad heads".into()))?;
            let more = store.apply_pulled(&[Incoming { id: rid, changes: whole.doc, heads }], page.cursor)?;
            applied.created += more.created;
            applied.updated += more.updated;
            applied.with_conflicts.extend(more.with_conflicts);
        }
        summary.pulled += page.entries.len() as u64;
        summary.created += applied.created;
        summary.updated += applied.updated;
        summary.conflicts.extend(applied.with_conflicts);
        cursor = page.cursor;
        prog.records_down = summary.pulled;
        prog.bytes_down = summary.bytes_down;
        progress(&prog);
        if !page.more {
            break;
        }
    }
    summary.cursor = cursor;

    // The trust list, checked against the registry key pinned at provisioning.
    if let Some(pinned) = p.registry_public_key_hex.as_deref().and_then(|h| hex::decode(h).ok()) {
        let mut d = 0u64;
        let signed: ehcard_card::trust::SignedTrustList =
            s.call::<(), _>("GET", "/v1/trust-list", None, &mut summary.bytes_up, &mut d)?;
        summary.bytes_down += d;
        let list = signed.open(&pinned).map_err(|e| SyncError::Protocol(format!("trust list: {e}")))?;
        summary.trusted_keys = list.entries.len();
        let json = serde_json::to_string(&signed).map_err(|e| SyncError::Protocol(e.to_string()))?;
        store.set_setting("trust_list", &json)?;
    }
    summary.conflicts.sort();
    summary.conflicts.dedup();
    summary.still_pending = store.pending_count()?;
    summary.complete = summary.still_pending == 0;
    store.set_setting("clock_offset", &s.offset.to_string())?;
    if summary.complete {
        store.set_setting("last_sync_at", &now.to_string())?;
    }
    Ok(summary)
}
