//! The HTTP API under `/v1/` (described in `schema/openapi.json`), plus
//! `/healthz` and `/metrics`. Handlers decode, authenticate, call the store
//! and encode; they keep nothing in memory that another instance needs.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ehcard_sync::auth;
use ehcard_sync::codec::{self, MAX_BODY};
use ehcard_sync::wire::{
    ErrorBody, ProvisionRequest, ProvisionResponse, PullRequest, PullResponse, PushRequest, PushResponse, PushResult,
    RecordResponse,
};
use ring::digest::{SHA256, digest};

use crate::metrics::Metrics;
use crate::store::{Device, DynStore, PushItem, StoreError};

/// Most records one push may carry.
pub const MAX_PUSH_RECORDS: usize = 2000;

/// Every route, as `schema/openapi.json` lists them (a test keeps the two equal).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("post", "/v1/provision"),
    ("post", "/v1/sync/push"),
    ("post", "/v1/sync/pull"),
    ("get", "/v1/records/{id}"),
    ("get", "/v1/trust-list"),
];

/// What handlers share: the store, the clock, the counters.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub metrics: Arc<Metrics>,
    /// Seconds since the epoch (the real clock in production, fixed in tests).
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
    /// The registry key (PKCS#8): configuration, read at start-up.
    pub registry_key: Arc<Vec<u8>>,
    /// The `iss` of trust lists and permanent cards.
    pub issuer: Arc<String>,
    /// Wakes the background duplicate matcher (`dedup::spawn_matcher`);
    /// without one, the queue waits for `ehcard-server duplicates`.
    pub matcher: Option<Arc<tokio::sync::Notify>>,
    /// Console cookies carry `Secure` (set when serving HTTPS).
    pub secure_cookies: bool,
    /// The address tablets reach this server at (`--public-url`), put in
    /// provisioning QR codes; never taken from a request's Host header.
    pub public_url: Option<Arc<String>>,
}

impl AppState {
    /// A state with a fresh registry key (tests); servers use [`AppState::with_registry_key`].
    pub fn new(store: DynStore) -> Self {
        let key = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map(|k| k.as_ref().to_vec())
            .unwrap_or_default();
        AppState::with_registry_key(store, key, "ehcard registry")
    }

    pub fn with_registry_key(store: DynStore, registry_key: Vec<u8>, issuer: &str) -> Self {
        AppState {
            store,
            metrics: Arc::new(Metrics::default()),
            clock: Arc::new(|| chrono::Utc::now().timestamp()),
            registry_key: Arc::new(registry_key),
            issuer: Arc::new(issuer.to_string()),
            matcher: None,
            secure_cookies: false,
            public_url: None,
        }
    }

    fn now(&self) -> i64 {
        (self.clock)()
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(|| async { axum::response::Redirect::to("/console") }))
        .nest("/console", crate::console::router(state.clone()))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/provision", post(provision))
        .route("/v1/sync/push", post(push))
        .route("/v1/sync/pull", post(pull))
        .route("/v1/records/{id}", get(record))
        .route("/v1/trust-list", get(trust_list))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// An error answer: status, stable code, message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub server_time: Option<i64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), server_time: None }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, code) = match &e {
            StoreError::UnknownCode => (StatusCode::FORBIDDEN, "unknown_code"),
            StoreError::CodeExpired => (StatusCode::FORBIDDEN, "code_expired"),
            StoreError::NoDevice(_) => (StatusCode::NOT_FOUND, "no_device"),
            StoreError::OtherWard { .. } => (StatusCode::FORBIDDEN, "other_ward"),
            StoreError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_record"),
            StoreError::Corrupt { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "corrupt_record"),
            StoreError::NoRecord(_) => (StatusCode::NOT_FOUND, "no_record"),
            StoreError::Refused(_) => (StatusCode::CONFLICT, "refused"),
            StoreError::TooNew(_)
            | StoreError::Database(_)
            | StoreError::Raced(_)
            | StoreError::NoDeviceNumbers
            | StoreError::RollIdsExhausted => (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %e, "store error");
        }
        ApiError::new(status, code, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.to_string(), message: self.message, server_time: self.server_time };
        encoded(self.status, &body)
    }
}

fn encoded<T: serde::Serialize>(status: StatusCode, body: &T) -> Response {
    let mut resp = (status, codec::encode(body)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    resp
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    codec::decode(body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed_body", format!("{e}; nothing was changed")))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint: see schema/openapi.json")
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(st): State<AppState>) -> Response {
    let mut resp = st.metrics.render().into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    resp
}

/// The one-time code as stored: hashed, case and dashes ignored.
pub fn code_hash(code: &str) -> Vec<u8> {
    let norm: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect();
    digest(&SHA256, norm.as_bytes()).as_ref().to_vec()
}

async fn provision(State(st): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let started = Instant::now();
    let req: ProvisionRequest = decode(&body)?;
    if req.public_key.len() != 32 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_key", "public_key must be 32 bytes of Ed25519"));
    }
    let d = st.store.redeem_code(&code_hash(&req.code), &req.public_key, st.now()).await?;
    tracing::info!(device = %d.id, number = d.number, "device provisioned");
    st.metrics.observe("provision", started);
    Ok(encoded(
        StatusCode::OK,
        &ProvisionResponse {
            device_id: d.id,
            device_number: d.number,
            label: d.label,
            wards: d.wards,
            server_time: st.now(),
            registry_public_key: crate::registry::public_key(&st.registry_key),
        },
    ))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Check a signed request; the device it comes from.
async fn authenticate(
    st: &AppState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Device, ApiError> {
    let unauth = |code: &'static str, msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, msg);
    let (Some(device), Some(time), Some(nonce), Some(sig)) = (
        header_str(headers, auth::HEADER_DEVICE),
        header_str(headers, auth::HEADER_TIME),
        header_str(headers, auth::HEADER_NONCE),
        header_str(headers, auth::HEADER_SIGNATURE),
    ) else {
        return Err(unauth("unsigned", "this request must be signed by a provisioned tablet"));
    };
    let time: i64 = time.parse().map_err(|_| unauth("bad_signature", "the request time is not a number"))?;
    let d = st
        .store
        .device(device)
        .await?
        .ok_or_else(|| unauth("unknown_device", "this tablet is not known to the registry"))?;
    let Some(key) = d.public_key.as_deref() else {
        return Err(unauth("unknown_device", "this tablet has not been provisioned"));
    };
    if !auth::verify(key, method.as_str(), path, time, nonce, body, sig) {
        return Err(unauth("bad_signature", "the request signature does not verify; nothing was changed"));
    }
    if let Some(at) = d.revoked_at {
        let when = chrono::DateTime::from_timestamp(at, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "device_revoked",
            format!("tablet {} ({}) was revoked on {when}", d.number, d.label),
        ));
    }
    let now = st.now();
    if (now - time).abs() > auth::MAX_SKEW_SECS {
        let mut e = unauth(
            "request_expired",
            "the request time is too far from the server's: check the tablet's clock; nothing was changed",
        );
        e.server_time = Some(now);
        return Err(e);
    }
    if !st.store.remember_nonce(&d.id, nonce, now).await? {
        return Err(unauth("replayed", "this request was already received once; nothing was changed"));
    }
    Ok(d)
}

async fn push(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let started = Instant::now();
    let device = authenticate(&st, &Method::POST, "/v1/sync/push", &headers, &body).await?;
    let req: PushRequest = decode(&body)?;
    if req.records.len() > MAX_PUSH_RECORDS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("at most {MAX_PUSH_RECORDS} records per push"),
        ));
    }
    let mut items = Vec::with_capacity(req.records.len());
    for r in req.records {
        if r.id.parse::<ehcard_core::RecordId>().is_err() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_body",
                format!("{:?} is not a record id; nothing was changed", r.id),
            ));
        }
        items.push(PushItem { id: r.id, changes: r.changes });
    }
    let n = items.len();
    let outcomes = st.store.push(&device, items, st.now()).await?;
    st.metrics.pushed(&outcomes);
    // What merged is in the match queue (written with it); the background
    // matcher compares it with the whole registry. Who pushed what is in the
    // feed (device and time of every change).
    if let Some(m) = &st.matcher
        && outcomes.iter().any(|o| o.status == ehcard_sync::wire::PushStatus::Merged)
    {
        m.notify_one();
    }
    st.metrics.observe("push", started);
    tracing::info!(device = %device.id, records = n, "push merged");
    let results = outcomes.into_iter().map(|o| PushResult { id: o.id, status: o.status, heads: o.heads }).collect();
    Ok(encoded(StatusCode::OK, &PushResponse { results }))
}

async fn pull(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let started = Instant::now();
    let device = authenticate(&st, &Method::POST, "/v1/sync/pull", &headers, &body).await?;
    let req: PullRequest = decode(&body)?;
    let page = st.store.pull(&device, req.cursor.max(0), req.limit, st.now()).await?;
    st.metrics.pulled(page.entries.len());
    st.metrics.observe("pull", started);
    Ok(encoded(StatusCode::OK, &PullResponse { entries: page.entries, cursor: page.cursor, more: page.more }))
}

async fn record(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, ApiError> {
    let started = Instant::now();
    let path = format!("/v1/records/{id}");
    let device = authenticate(&st, &Method::GET, &path, &headers, &[]).await?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "no_record", format!("no record {id}"));
    let (doc, heads, ward) = st.store.record(&id).await?.ok_or_else(not_found)?;
    if !device.wards.iter().any(|w| i64::from(*w) == ward) {
        return Err(not_found());
    }
    st.metrics.observe("record", started);
    Ok(encoded(StatusCode::OK, &RecordResponse { id, doc, heads }))
}

/// The signed trust list: public, so any verifier can fetch it.
async fn trust_list(State(st): State<AppState>) -> Result<Response, ApiError> {
    let signed = crate::registry::trust_list(&st.store, &st.registry_key, &st.issuer, st.now()).await?;
    Ok(encoded(StatusCode::OK, &signed))
}
