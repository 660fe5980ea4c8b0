//! Signing in and out: Argon2id passwords (`crate::staff`), sessions in the
//! database under a random cookie token, CSRF tokens, and throttling of
//! failed sign-ins by account and by client address.

use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maud::html;
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::layout::{self, Lang};
use super::{Action, ConsoleError, Ctx, IDLE_SECONDS, Route, SESSION_SECONDS};
use crate::api::AppState;
use crate::dedup::NewAudit;
use crate::staff::{Staff, verify_password};
use crate::store::{Session, StoreError};

/// The session cookie (its value: a random token; the store keeps its hash).
pub const SESSION_COOKIE: &str = "ehcard_session";
/// The sign-in form's CSRF cookie (double submit: the form carries the same value).
pub const LOGIN_COOKIE: &str = "ehcard_login";
/// Failed sign-ins are counted over this window…
pub const FAILURE_WINDOW: i64 = 15 * 60;
/// …and this many for one account, or for one client address, lock
/// sign-in (for that account or address) until the window passes.
pub const MAX_FAILURES_PER_NAME: i64 = 5;
pub const MAX_FAILURES_PER_CLIENT: i64 = 20;

pub const ROUTES: &[Route] = &[
    Route::public("GET", "/console/login"),
    Route::public("POST", "/console/login"),
    Route::post("/console/logout", Action::View),
];

pub fn routes() -> Router<AppState> {
    Router::new().route("/login", get(login_page).post(login)).route("/logout", post(logout))
}

/// A fresh random token, URL-safe base64 of 32 bytes.
pub fn random_token() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| StoreError::Database("the random number generator failed".into()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> String {
    hex::encode(digest(&SHA256, token.as_bytes()))
}

/// Compare two tokens in time independent of where they differ.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    !b.is_empty() && a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The live session the request's cookie names, if any.
pub(super) async fn session_of(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<(Session, Staff)>, StoreError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else { return Ok(None) };
    if token.len() != 43 {
        return Ok(None);
    }
    state.store.session(&token_hash(&token), now, now - IDLE_SECONDS).await
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64, path: &str) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[derive(Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only console paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.contains("//") && !n.contains('\\') => n.to_string(),
        _ => "/console".to_string(),
    }
}

fn login_form(
    state: &AppState,
    lang: Lang,
    next: &str,
    name: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = match random_token() {
        Ok(t) => t,
        Err(e) => return ConsoleError::Store(e, lang).into_response(),
    };
    let body = html! {
        main.login {
            h1 { (lang.t("ehcard registry console", "ई-हेल्थ कार्ड रजिस्ट्री कंसोल")) }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="name" { (lang.t("Staff name", "स्टाफ़ नाम")) }
                input #name name="name" value=(name) autocomplete="username" required autofocus;
                label for="password" { (lang.t("Password", "पासवर्ड")) }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { (lang.t("Sign in", "साइन इन करें")) }
            }
            p { (layout::lang_switch(lang, &format!("/console/login?next={}", layout::url_encode(next)))) }
        }
    };
    let mut res = (status, layout::bare_page(lang, lang.t("Sign in", "साइन इन"), body)).into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(state, LOGIN_COOKIE, &token, 3600, "/console/login"));
    res
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let lang = Lang::of(&headers);
    let next = safe_next(q.next.as_deref());
    if let Ok(Some(_)) = session_of(&state, &headers, (state.clock)()).await {
        return Redirect::to(&next).into_response();
    }
    login_form(&state, lang, &next, "", None, StatusCode::OK)
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// An Argon2id hash of nothing anyone knows: unknown names are checked
/// against it so they take as long as known ones.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| random_token().ok().and_then(|t| crate::staff::hash_password(&t).ok()).unwrap_or_default())
}

fn client_of(addr: Option<&ConnectInfo<SocketAddr>>) -> String {
    addr.map(|a| a.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    addr: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let next = safe_next(form.next.as_deref());
    let now = (state.clock)();
    let client = client_of(addr.as_ref().map(|a| &a.0));
    let name = form.name.trim().to_string();
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if !super::same_origin(&headers) || !tokens_equal(&form.csrf, &expected) {
        return login_form(
            &state,
            lang,
            &next,
            &name,
            Some(lang.t(
                "The sign-in form had expired. It has been reloaded: sign in again.",
                "साइन-इन फ़ॉर्म पुराना हो गया था। इसे फिर से लोड किया गया है: दोबारा साइन इन करें।",
            )),
            StatusCode::FORBIDDEN,
        );
    }
    match try_login(&state, &name, &form.password, &client, now, lang).await {
        Ok(Some(token)) => {
            let mut res = Redirect::to(&next).into_response();
            let h = res.headers_mut();
            h.append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, &token, SESSION_SECONDS, "/console"));
            h.append(header::SET_COOKIE, set_cookie(&state, LOGIN_COOKIE, "", 0, "/console/login"));
            res
        }
        Ok(None) => login_form(
            &state,
            lang,
            &next,
            &name,
            Some(lang.t(
                "That name and password do not match an active account. Check them and try again.",
                "यह नाम और पासवर्ड किसी सक्रिय खाते से मेल नहीं खाते। जाँचें और फिर कोशिश करें।",
            )),
            StatusCode::UNAUTHORIZED,
        ),
        Err(LoginRefusal::Throttled(until)) => {
            let msg = format!(
                "{} {}. {}",
                lang.t("Too many failed sign-ins. Try again after", "बहुत बार गलत साइन-इन हुआ। इसके बाद फिर कोशिश करें:"),
                layout::fmt_time(until),
                lang.t(
                    "An administrator can help if you forgot your password.",
                    "पासवर्ड भूल गए हों तो व्यवस्थापक मदद कर सकते हैं।"
                )
            );
            login_form(&state, lang, &next, &name, Some(&msg), StatusCode::TOO_MANY_REQUESTS)
        }
        Err(LoginRefusal::Store(e)) => ConsoleError::Store(e, lang).into_response(),
    }
}

enum LoginRefusal {
    Throttled(i64),
    Store(StoreError),
}

impl From<StoreError> for LoginRefusal {
    fn from(e: StoreError) -> Self {
        LoginRefusal::Store(e)
    }
}

/// Check the password (unless throttled) and open a session: its cookie
/// token, or none for a wrong name or password.
async fn try_login(
    state: &AppState,
    name: &str,
    password: &str,
    client: &str,
    now: i64,
    _lang: Lang,
) -> Result<Option<String>, LoginRefusal> {
    let store = &state.store;
    let failures = store.login_failures(name, client, now - FAILURE_WINDOW).await?;
    if failures.by_name >= MAX_FAILURES_PER_NAME || failures.by_client >= MAX_FAILURES_PER_CLIENT {
        let until = failures.oldest.unwrap_or(now) + FAILURE_WINDOW;
        return Err(LoginRefusal::Throttled(until));
    }
    let account = store.staff(name).await?.filter(|s| s.disabled_at.is_none());
    let hash = account.as_ref().map(|s| s.password_hash.clone()).unwrap_or_else(|| decoy_hash().to_string());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&hash, &password))
        .await
        .map_err(|e| StoreError::Database(format!("worker: {e}")))?;
    let audit = |action: &str, detail: serde_json::Value| NewAudit {
        at: now,
        actor: name.to_string(),
        action: action.to_string(),
        subject: format!("staff:{name}"),
        detail,
    };
    let Some(staff) = account.filter(|_| ok) else {
        store.login_failed(name, client, now).await?;
        store.audit(audit("console.sign_in_failed", serde_json::json!({ "client": client }))).await?;
        return Ok(None);
    };
    store.login_succeeded(&staff.name, now - 86_400).await?;
    let token = random_token()?;
    store
        .create_session(Session {
            token_hash: token_hash(&token),
            staff: staff.name.clone(),
            csrf: random_token()?,
            created_at: now,
            last_seen: now,
            expires_at: now + SESSION_SECONDS,
        })
        .await?;
    store.audit(audit("console.sign_in", serde_json::json!({ "client": client, "role": staff.role.as_str() }))).await?;
    Ok(Some(token))
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> Result<Response, ConsoleError> {
    state.store.end_session(&ctx.session.token_hash).await.map_err(|e| ConsoleError::store(&ctx, e))?;
    state
        .store
        .audit(NewAudit {
            at: ctx.now,
            actor: ctx.staff.name.clone(),
            action: "console.sign_out".into(),
            subject: format!("staff:{}", ctx.staff.name),
            detail: serde_json::json!({}),
        })
        .await
        .map_err(|e| ConsoleError::store(&ctx, e))?;
    let mut res = Redirect::to("/console/login").into_response();
    res.headers_mut().append(header::SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0, "/console"));
    Ok(res)
}
