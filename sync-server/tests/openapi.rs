#![allow(clippy::unwrap_used)]
//! `schema/openapi.json` and the router stay in step: the document lists
//! exactly the routes of `ehcard_server::api::ROUTES`, and every documented
//! route answers on a real server (never the fallback's 404 `not_found` nor
//! a 405), with a status, content type and error code the document lists.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use ehcard_server::api::{AppState, ROUTES, router};
use ehcard_server::store::sqlite::SqliteStore;
use ehcard_server::store::{DynStore, RegistryStore};
use ehcard_sync::codec;
use ehcard_sync::wire::ErrorBody;
use serde_json::Value;

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/openapi.json");
/// The operation keys of an OpenAPI path item.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// A UUIDv7 standing in for `{id}`.
const RECORD_ID: &str = "01a0c450-6c00-7699-b7ca-ad8d6837074f";

fn spec() -> Value {
    let text = std::fs::read_to_string(SPEC).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Every (method, path template) the document lists, method in lower case.
fn documented(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("the document has no paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("a path item is an object").keys() {
            if METHODS.contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

/// The error codes a documented response lists (`properties.code.enum`
/// anywhere in it, following local `$ref`s).
fn codes_in(spec: &Value, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let target = spec.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling $ref {r}"));
                codes_in(spec, target, out);
            }
            if let Some(Value::Array(codes)) =
                map.get("properties").and_then(|p| p.get("code")).and_then(|c| c.get("enum"))
            {
                out.extend(codes.iter().filter_map(|c| c.as_str().map(str::to_string)));
            }
            for (k, child) in map {
                if k != "$ref" {
                    codes_in(spec, child, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| codes_in(spec, i, out)),
        _ => {}
    }
}

/// The real router on a fresh SQLite registry, on 127.0.0.1 and a free port.
struct Server {
    base: String,
    // Dropped before the directory: the runtime owns the store.
    _rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = dir.path().join("registry.db");
    let addr: SocketAddr = rt.block_on(async move {
        let store = SqliteStore::open(&db).unwrap();
        store.migrate().await.unwrap();
        let store: DynStore = Arc::new(store);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router(AppState::new(store))).await });
        addr
    });
    Server { base: format!("http://{addr}"), _rt: rt, _dir: dir }
}

fn agent() -> ureq::Agent {
    let cfg = ureq::Agent::config_builder().http_status_as_error(false).build();
    ureq::Agent::new_with_config(cfg)
}

struct Answer {
    status: u16,
    content_type: String,
    content_encoding: String,
    allow: String,
    body: Vec<u8>,
}

impl Answer {
    fn error(&self) -> ErrorBody {
        assert_eq!(self.content_type, "application/json", "an error body is JSON");
        assert_eq!(self.content_encoding, "gzip", "an error body is gzip");
        codec::decode::<ErrorBody>(&self.body).unwrap()
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }
}

/// Send a request from this (blocking) thread; the server runs on the runtime's.
fn send(agent: &ureq::Agent, method: &str, url: &str, body: &[u8]) -> Answer {
    let resp = match method {
        "get" => agent.get(url).call(),
        "head" => agent.head(url).call(),
        "post" if body.is_empty() => agent.post(url).send_empty(),
        "post" => agent.post(url).send(body),
        other => panic!("this test cannot send {other} yet: teach `send`"),
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let (content_type, content_encoding, allow) = (header("content-type"), header("content-encoding"), header("allow"));
    let status = resp.status().as_u16();
    let body = resp.body_mut().read_to_vec().unwrap();
    Answer { status, content_type, content_encoding, allow, body }
}

#[test]
fn the_document_lists_exactly_the_routes() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1."), "the document is OpenAPI 3.1");
    let routes: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(routes.len(), ROUTES.len(), "ROUTES lists a route twice");
    assert_eq!(documented(&spec), routes, "schema/openapi.json and api::ROUTES differ");
}

#[test]
fn every_documented_route_answers_as_documented() {
    let spec = spec();
    let server = start();
    let agent = agent();
    let routes = documented(&spec);
    assert!(!routes.is_empty());
    for (method, path) in routes {
        let what = format!("{} {path}", method.to_uppercase());
        let url = format!("{}{}", server.base, path.replace("{id}", RECORD_ID));
        let a = send(&agent, &method, &url, b"");
        assert_ne!(a.status, 405, "{what}: the router has no such method on this path");
        if a.status == 404 {
            assert_ne!(a.error().code, "not_found", "{what}: answered by the fallback, so not routed");
        }

        // The answer is one the document gives.
        let op = &spec["paths"][&path][&method];
        let response = &op["responses"][a.status.to_string()];
        assert!(response.is_object(), "{what}: status {} is not documented", a.status);
        let content = response["content"].as_object().unwrap_or_else(|| panic!("{what}: {} has no content", a.status));
        assert!(
            content.contains_key(&a.content_type),
            "{what}: content type {:?} of {} is not documented (documented: {:?})",
            a.content_type,
            a.status,
            content.keys().collect::<Vec<_>>()
        );
        if a.status >= 400 {
            let mut codes = BTreeSet::new();
            codes_in(&spec, response, &mut codes);
            let code = a.error().code;
            assert!(codes.contains(&code), "{what}: code {code:?} is not documented for {} ({codes:?})", a.status);
        }

        // What an unsigned request with an empty body gets.
        match path.as_str() {
            "/healthz" => {
                assert_eq!(a.status, 200, "{what}");
                assert_eq!(a.text(), "ok\n");
            }
            "/metrics" => {
                assert_eq!(a.status, 200, "{what}");
                assert!(a.text().contains("ehcard_records_pushed_total"), "{what}: {}", a.text());
            }
            "/v1/provision" => {
                assert_eq!(a.status, 400, "{what}");
                assert_eq!(a.error().code, "malformed_body", "{what}");
            }
            "/v1/sync/push" | "/v1/sync/pull" | "/v1/records/{id}" => {
                assert_eq!(a.status, 401, "{what}");
                assert_eq!(a.error().code, "unsigned", "{what}");
                assert!(op["security"].as_array().is_some_and(|s| !s.is_empty()), "{what}: security not documented");
            }
            "/v1/trust-list" => {
                assert_eq!(a.status, 200, "{what}");
                let signed: ehcard_card::trust::SignedTrustList = ehcard_sync::codec::decode(&a.body).unwrap();
                let list: ehcard_card::trust::TrustList = serde_json::from_str(&signed.list).unwrap();
                assert_eq!(list.entries[0].role, "registry", "{what}");
            }
            _ => panic!("{what}: no expectation for this route: add one to this test"),
        }
    }
}

#[test]
fn what_is_not_routed_answers_as_documented() {
    let server = start();
    let agent = agent();

    let a = send(&agent, "get", &format!("{}/v1/nope", server.base), b"");
    assert_eq!(a.status, 404);
    assert_eq!(a.error().code, "not_found");

    // A documented path with another method: axum's bare 405 with `Allow`.
    let a = send(&agent, "post", &format!("{}/healthz", server.base), b"");
    assert_eq!(a.status, 405);
    assert!(a.allow.to_ascii_uppercase().contains("GET"), "allow: {:?}", a.allow);
    assert!(a.body.is_empty(), "a 405 has no body");
    let a = send(&agent, "get", &format!("{}/v1/sync/push", server.base), b"");
    assert_eq!(a.status, 405);

    // A GET route also answers HEAD.
    let a = send(&agent, "head", &format!("{}/healthz", server.base), b"");
    assert_eq!(a.status, 200);

    // A body past 16 MiB compressed: refused in plain text before the signature is looked at.
    let big = vec![0u8; codec::MAX_BODY + 1];
    let a = send(&agent, "post", &format!("{}/v1/sync/push", server.base), &big);
    assert_eq!(a.status, 413);
    assert!(a.content_type.starts_with("text/plain"), "{:?}", a.content_type);
}
