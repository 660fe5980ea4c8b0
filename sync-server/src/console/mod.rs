//! The registry console: server-rendered pages for central staff at
//! `/console`, embedded in `ehcard-server` (templates are `maud` macros,
//! assets are `include_bytes!`; nothing is loaded from elsewhere).
//!
//! **Invariants**
//! - Every route but the sign-in page needs a live session ([`Ctx`]); the
//!   session lives in the database (`console_sessions`), never in memory.
//! - Every route is in a page's `ROUTES` table with the [`Action`] it
//!   needs; [`guard`] checks the session and the role before the handler
//!   runs, and refuses routes missing from the table.
//! - Every POST passes [`guard`]: a session's CSRF token (form field
//!   `csrf`, header `x-csrf-token`, or for uploads the `csrf` query
//!   parameter) and, when the browser sends one, a same-origin `Origin`.
//! - What each role may do is the one table in [`allowed`]; handlers ask
//!   [`Ctx::require`] again only for finer rules.
//! - Everything shown is escaped by `maud`; nothing builds HTML by hand.

pub mod admin;
pub mod auth;
pub mod dashboard;
pub mod labels;
pub mod layout;
pub mod records;
pub mod review;

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::api::AppState;
use crate::staff::{Role, Staff};
use crate::store::{Session, StoreError};
pub use layout::{Lang, Nav};

/// Sessions end after this long without a request…
pub const IDLE_SECONDS: i64 = 30 * 60;
/// …and this long after sign-in, whatever happens.
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// The biggest form body (not uploads, which have their own limit).
pub const MAX_FORM: usize = 1 << 20;

/// Something a staff member does in the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read pages: dashboard, search, records, queues.
    View,
    /// Merge two records or mark them different people.
    ResolveDuplicate,
    /// Pick or type the value of a field in conflict.
    ResolveConflict,
    /// Approve a record for a permanent card; print approved cards.
    Approve,
    /// Undo a merge.
    UndoMerge,
    /// Provision and revoke tablets.
    ManageTablets,
    /// Add and disable staff accounts.
    ManageStaff,
    /// Upload an electoral-roll extract.
    ImportRoll,
    /// Read the audit log.
    ViewAudit,
}

/// What each role may do: the one place it is decided.
pub fn allowed(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Admin => true,
        Role::Reviewer => matches!(action, View | ResolveDuplicate | ResolveConflict | Approve | ViewAudit),
        Role::Viewer => matches!(action, View),
    }
}

/// The signed-in staff member of a request, and how to answer them.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub staff: Staff,
    pub session: Session,
    pub lang: Lang,
    /// The request's path and query (for "back" links and the language switch).
    pub path: String,
    pub now: i64,
}

impl Ctx {
    /// Refuse unless the staff member's role allows `action`.
    pub fn require(&self, action: Action) -> Result<(), ConsoleError> {
        if allowed(self.staff.role, action) { Ok(()) } else { Err(ConsoleError::Forbidden(self.staff.role, self.lang)) }
    }

    pub fn can(&self, action: Action) -> bool {
        allowed(self.staff.role, action)
    }

    /// The text in the page's language.
    pub fn t(&self, en: &'static str, hi: &'static str) -> &'static str {
        self.lang.t(en, hi)
    }

    /// The CSRF token every form carries (see [`layout::csrf_field`]).
    pub fn csrf(&self) -> &str {
        &self.session.csrf
    }
}

/// The session found by [`guard`], handed to [`Ctx`].
#[derive(Clone)]
struct Found(Option<(Session, Staff)>);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(&parts.headers);
        // Nested under /console, the request's own URI has lost the prefix.
        let uri = parts.extensions.get::<OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
        let path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/console".into());
        match parts.extensions.get::<Found>() {
            Some(Found(Some((session, staff)))) => {
                Ok(Ctx { staff: staff.clone(), session: session.clone(), lang, path, now: session.last_seen })
            }
            _ => Err(ConsoleError::SignIn { next: path }),
        }
    }
}

/// Why a console request was refused, shown as a page in the staff
/// member's language.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: sign in (then come back to `next`).
    SignIn {
        next: String,
    },
    /// The role does not allow it.
    Forbidden(Role, Lang),
    /// A POST without the session's CSRF token, or from another origin.
    Csrf(Lang),
    /// Bad input: what is wrong and what to do (already in the right language).
    BadRequest(String, Lang),
    NotFound(String, Lang),
    /// The store failed; the details go to the log, not to the page.
    Store(StoreError, Lang),
}

impl ConsoleError {
    pub fn bad(ctx: &Ctx, message: impl Into<String>) -> Self {
        ConsoleError::BadRequest(message.into(), ctx.lang)
    }

    pub fn not_found(ctx: &Ctx, message: impl Into<String>) -> Self {
        ConsoleError::NotFound(message.into(), ctx.lang)
    }

    /// A store error, in the context of a page: refusals and missing
    /// records are the user's to fix; the rest is ours.
    pub fn store(ctx: &Ctx, e: StoreError) -> Self {
        match e {
            StoreError::Refused(m) => ConsoleError::BadRequest(m, ctx.lang),
            StoreError::NoRecord(id) => {
                ConsoleError::NotFound(format!("{} {id}", ctx.t("There is no record", "यह रिकॉर्ड नहीं है:")), ctx.lang)
            }
            other => ConsoleError::Store(other, ctx.lang),
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let (status, lang, title, message) = match self {
            ConsoleError::SignIn { next } => {
                let to = format!("/console/login?next={}", layout::url_encode(&next));
                return Redirect::to(&to).into_response();
            }
            ConsoleError::Forbidden(role, lang) => (
                StatusCode::FORBIDDEN,
                lang,
                lang.t("Not allowed", "अनुमति नहीं है"),
                format!(
                    "{} ({}). {}",
                    lang.t("Your role cannot do this", "आपकी भूमिका यह नहीं कर सकती"),
                    role.as_str(),
                    lang.t("Ask an administrator if you need it.", "ज़रूरत हो तो किसी व्यवस्थापक से कहें।")
                ),
            ),
            ConsoleError::Csrf(lang) => (
                StatusCode::FORBIDDEN,
                lang,
                lang.t("Form expired", "फ़ॉर्म की समय-सीमा समाप्त"),
                lang.t(
                    "This form was not sent from a current console page. Go back, reload the page and try again.",
                    "यह फ़ॉर्म कंसोल के मौजूदा पेज से नहीं भेजा गया। वापस जाएँ, पेज फिर से लोड करें और दोबारा कोशिश करें।",
                )
                .to_string(),
            ),
            ConsoleError::BadRequest(m, lang) => {
                (StatusCode::UNPROCESSABLE_ENTITY, lang, lang.t("Cannot do that", "यह नहीं हो सकता"), m)
            }
            ConsoleError::NotFound(m, lang) => (StatusCode::NOT_FOUND, lang, lang.t("Not found", "नहीं मिला"), m),
            ConsoleError::Store(e, lang) => {
                tracing::error!("console: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang,
                    lang.t("Something went wrong", "कुछ गड़बड़ हुई"),
                    lang.t(
                        "The registry could not do this. Try again; if it keeps failing, tell the administrator the time it happened.",
                        "रजिस्ट्री यह नहीं कर सकी। फिर कोशिश करें; बार-बार हो तो व्यवस्थापक को समय बताएँ।",
                    )
                    .to_string(),
                )
            }
        };
        (status, layout::bare_page(lang, title, layout::error_box(lang, title, &message))).into_response()
    }
}

/// A console route and what it needs: the security tests walk all of
/// them, and [`guard`] refuses a route that is not listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// The path as the router matches it, with `{param}` placeholders.
    pub path: &'static str,
    /// What the staff member must be allowed; `None`: no session needed
    /// (signing in, assets).
    pub action: Option<Action>,
}

impl Route {
    pub const fn get(path: &'static str, action: Action) -> Route {
        Route { method: "GET", path, action: Some(action) }
    }
    pub const fn post(path: &'static str, action: Action) -> Route {
        Route { method: "POST", path, action: Some(action) }
    }
    pub const fn public(method: &'static str, path: &'static str) -> Route {
        Route { method, path, action: None }
    }
}

/// Every console route, each page's list in turn.
pub fn all_routes() -> &'static [Route] {
    static ALL: std::sync::OnceLock<Vec<Route>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let root = [Route::get("/console", Action::View)];
        [&root[..], auth::ROUTES, layout::ROUTES, dashboard::ROUTES, records::ROUTES, review::ROUTES, admin::ROUTES]
            .concat()
    })
}

/// The console: every route behind [`guard`], the security headers on
/// every answer.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page))
        .merge(auth::routes())
        .merge(layout::routes())
        .merge(dashboard::routes())
        .merge(records::routes())
        .merge(review::routes())
        .merge(admin::routes())
        .route_layer(middleware::from_fn_with_state(state.clone(), guard))
        .fallback(not_found)
        .layer(middleware::map_response(with_headers))
        .with_state(state)
}

/// Unknown addresses: sign in first (so they reveal nothing), then "not found".
async fn not_found(State(state): State<AppState>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    match auth::session_of(&state, &headers, (state.clock)()).await {
        Ok(Some(_)) => {
            ConsoleError::NotFound(lang.t("There is no such page.", "ऐसा कोई पेज नहीं है।").into(), lang).into_response()
        }
        Ok(None) => ConsoleError::SignIn { next: uri.0.path().to_string() }.into_response(),
        Err(e) => ConsoleError::Store(e, lang).into_response(),
    }
}

/// In front of every route: find the session, refuse what the route table
/// does not allow the staff member, and check CSRF token and origin on
/// every POST.
async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = Lang::of(req.headers());
    let now = (state.clock)();
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let method = req.method().as_str().to_string();
    let Some(route) = all_routes().iter().find(|r| r.method == method && r.path == matched) else {
        tracing::error!("console route {method} {matched} is not in the route table");
        return ConsoleError::Store(
            StoreError::Database(format!("{method} {matched} is not in the route table")),
            lang,
        )
        .into_response();
    };
    // Assets and the sign-in page need no session: no database lookup.
    let found = match route.action {
        None => None,
        Some(_) => match auth::session_of(&state, req.headers(), now).await {
            Ok(found) => found,
            Err(e) => return ConsoleError::Store(e, lang).into_response(),
        },
    };
    let mut req = req;
    if let Some(action) = route.action {
        let Some((session, staff)) = &found else {
            if req.method() == Method::POST {
                // A form sent after the session ended: nothing changes.
                return refuse(req, StatusCode::UNAUTHORIZED.into_response_with(lang)).await;
            }
            let next = req.extensions().get::<OriginalUri>().map(|o| o.0.to_string()).unwrap_or(matched);
            return ConsoleError::SignIn { next }.into_response();
        };
        if !allowed(staff.role, action) {
            return refuse(req, ConsoleError::Forbidden(staff.role, lang).into_response()).await;
        }
        if req.method() == Method::POST {
            match check_post(req, &session.csrf).await {
                Ok(checked) => req = checked,
                Err(rest) => return refuse_body(rest, ConsoleError::Csrf(lang).into_response()).await,
            }
        }
    }
    req.extensions_mut().insert(Found(found));
    next.run(req).await
}

trait Unauthorized {
    fn into_response_with(self, lang: Lang) -> Response;
}

impl Unauthorized for StatusCode {
    fn into_response_with(self, lang: Lang) -> Response {
        let title = lang.t("Signed out", "साइन आउट हो गया");
        let msg = lang.t(
            "Your session has ended, so nothing was changed. Sign in again and repeat the action.",
            "आपका सत्र समाप्त हो गया है, इसलिए कुछ नहीं बदला। फिर से साइन इन करें और कार्य दोहराएँ।",
        );
        (self, layout::bare_page(lang, title, layout::error_box(lang, title, msg))).into_response()
    }
}

/// True unless the browser says the request came from another origin.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else { return false };
    origin.split_once("://").map(|(_, rest)| rest == host).unwrap_or(false)
}

/// Answer a refused request only after reading (some of) its body, so the
/// client sees the answer rather than a connection closed mid-upload.
async fn refuse(req: Request, answer: Response) -> Response {
    refuse_body(Some(req.into_body()), answer).await
}

async fn refuse_body(body: Option<axum::body::Body>, answer: Response) -> Response {
    if let Some(body) = body {
        let _ = axum::body::to_bytes(body, MAX_FORM).await;
    }
    answer
}

/// Check a POST's CSRF token and hand the request on with its body intact;
/// refused, the body if it is still unread.
async fn check_post(req: Request, csrf: &str) -> Result<Request, Option<axum::body::Body>> {
    if !same_origin(req.headers()) {
        return Err(Some(req.into_body()));
    }
    let matches = |token: &str| auth::tokens_equal(token, csrf);
    if let Some(h) = req.headers().get("x-csrf-token").and_then(|v| v.to_str().ok())
        && matches(h)
    {
        return Ok(req);
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if content_type.starts_with("multipart/form-data") {
        // Uploads carry the token in the query string so the body is
        // streamed to the handler, not read here.
        let query = req.uri().query().unwrap_or("");
        return if form_value(query.as_bytes(), "csrf").is_some_and(|t| matches(&t)) {
            Ok(req)
        } else {
            Err(Some(req.into_body()))
        };
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM).await.map_err(|_| None)?;
    if !form_value(&bytes, "csrf").is_some_and(|t| matches(&t)) {
        return Err(None);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// One value of an `application/x-www-form-urlencoded` body.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

async fn with_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name: &'static str, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    if !h.contains_key(header::CACHE_CONTROL) {
        set(h, "cache-control", "no-store");
    }
    res
}
