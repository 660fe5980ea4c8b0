//! The console's page shell (navigation by role, language switch, sign
//! out), its language, formatting, and its embedded assets.

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::{FixedOffset, TimeZone};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{Action, Ctx, Route};
use crate::api::AppState;

/// The language of a page: English or Hindi, from the `ehcard_lang` cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Hi,
}

impl Lang {
    pub const COOKIE: &'static str = "ehcard_lang";

    pub fn of(headers: &HeaderMap) -> Lang {
        match super::auth::cookie(headers, Self::COOKIE).as_deref() {
            Some("hi") => Lang::Hi,
            _ => Lang::En,
        }
    }

    /// The text in this language: both are written where they are used.
    pub fn t(self, en: &'static str, hi: &'static str) -> &'static str {
        match self {
            Lang::En => en,
            Lang::Hi => hi,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Hi => "hi",
        }
    }
}

/// The sections of the console, in the order the navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Dashboard,
    Search,
    Duplicates,
    Approvals,
    Tablets,
    Staff,
    Roll,
    Audit,
    None,
}

impl Nav {
    const ALL: [Nav; 8] =
        [Nav::Dashboard, Nav::Search, Nav::Duplicates, Nav::Approvals, Nav::Tablets, Nav::Staff, Nav::Roll, Nav::Audit];

    fn href(self) -> &'static str {
        match self {
            Nav::Dashboard | Nav::None => "/console",
            Nav::Search => "/console/search",
            Nav::Duplicates => "/console/duplicates",
            Nav::Approvals => "/console/approvals",
            Nav::Tablets => "/console/tablets",
            Nav::Staff => "/console/staff",
            Nav::Roll => "/console/roll",
            Nav::Audit => "/console/audit",
        }
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Nav::Dashboard | Nav::None => lang.t("Dashboard", "डैशबोर्ड"),
            Nav::Search => lang.t("Search", "खोजें"),
            Nav::Duplicates => lang.t("Duplicates", "डुप्लिकेट"),
            Nav::Approvals => lang.t("Approval", "स्वीकृति"),
            Nav::Tablets => lang.t("Tablets", "टैबलेट"),
            Nav::Staff => lang.t("Staff", "स्टाफ़"),
            Nav::Roll => lang.t("Roll import", "मतदाता सूची आयात"),
            Nav::Audit => lang.t("Audit log", "ऑडिट लॉग"),
        }
    }

    /// Who sees the section in the navigation.
    fn action(self) -> Action {
        match self {
            Nav::Tablets => Action::ManageTablets,
            Nav::Staff => Action::ManageStaff,
            Nav::Roll => Action::ImportRoll,
            Nav::Audit => Action::ViewAudit,
            _ => Action::View,
        }
    }
}

fn head(lang: Lang, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (lang.t("ehcard registry", "ई-हेल्थ कार्ड रजिस्ट्री")) }
            link rel="stylesheet" href="/console/static/console.css";
            link rel="icon" href="data:,";
            script src="/console/static/console.js" defer {}
        }
    }
}

/// A page for a signed-in staff member: navigation for their role, the
/// language switch and sign-out, then `body`.
pub fn page(ctx: &Ctx, active: Nav, title: &str, body: Markup) -> Markup {
    let lang = ctx.lang;
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body data-csrf=(ctx.csrf()) {
                header.top {
                    a.brand href="/console" { (lang.t("ehcard registry", "ई-हेल्थ कार्ड रजिस्ट्री")) }
                    nav aria-label=(lang.t("Sections", "विभाग")) {
                        @for n in Nav::ALL {
                            @if ctx.can(n.action()) {
                                a href=(n.href()) aria-current=[(n == active).then_some("page")] { (n.label(lang)) }
                            }
                        }
                    }
                    div.who {
                        span.staff { (ctx.staff.name) " · " (role_label(lang, ctx.staff.role)) }
                        (lang_switch(lang, &ctx.path))
                        form.inline method="post" action="/console/logout" {
                            (csrf_field(ctx))
                            button.link type="submit" { (lang.t("Sign out", "साइन आउट")) }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without navigation (sign-in, errors before a session).
pub fn bare_page(lang: Lang, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(lang, title))
            body.bare { (body) }
        }
    }
}

pub fn error_box(lang: Lang, title: &str, message: &str) -> Markup {
    html! {
        main.message {
            h1 { (title) }
            p role="alert" { (message) }
            p { a href="/console" { (lang.t("Back to the dashboard", "डैशबोर्ड पर वापस")) } }
        }
    }
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(ctx: &Ctx) -> Markup {
    html! { input type="hidden" name="csrf" value=(ctx.csrf()); }
}

/// A notice at the top of a page after an action ("Merged …").
pub fn notice(text: &str) -> Markup {
    html! { p.notice role="status" { (text) } }
}

pub fn role_label(lang: Lang, role: crate::staff::Role) -> &'static str {
    use crate::staff::Role;
    match role {
        Role::Admin => lang.t("administrator", "व्यवस्थापक"),
        Role::Reviewer => lang.t("reviewer", "समीक्षक"),
        Role::Viewer => lang.t("viewer", "दर्शक"),
    }
}

/// The link to the other language, coming back to `back`.
pub fn lang_switch(lang: Lang, back: &str) -> Markup {
    let (to, label) = match lang {
        Lang::En => ("hi", "हिंदी"),
        Lang::Hi => ("en", "English"),
    };
    html! {
        a.lang href=(format!("/console/lang?to={to}&back={}", url_encode(back))) lang=(to) { (label) }
    }
}

/// Percent-encode a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A moment as the city reads it: Indian Standard Time.
pub fn fmt_time(ts: i64) -> String {
    match FixedOffset::east_opt(5 * 3600 + 1800).and_then(|ist| ist.timestamp_opt(ts, 0).single()) {
        Some(t) => t.format("%d %b %Y, %H:%M").to_string(),
        None => "—".into(),
    }
}

/// A count with Indian digit grouping (12,34,567).
pub fn fmt_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let (head, tail) = if digits.len() > 3 { digits.split_at(digits.len() - 3) } else { ("", digits.as_str()) };
    let mut groups = Vec::new();
    let mut rest = head;
    while rest.len() > 2 {
        let (a, b) = rest.split_at(rest.len() - 2);
        groups.push(b);
        rest = a;
    }
    if !rest.is_empty() {
        groups.push(rest);
    }
    groups.reverse();
    let mut out = if n < 0 { "-".to_string() } else { String::new() };
    for g in groups {
        out.push_str(g);
        out.push(',');
    }
    out.push_str(tail);
    out
}

#[derive(Deserialize)]
struct LangQuery {
    to: String,
    #[serde(default)]
    back: Option<String>,
}

/// Switch language (a preference cookie, not an action) and go back.
async fn switch_lang(Query(q): Query<LangQuery>) -> Response {
    let lang = if q.to == "hi" { "hi" } else { "en" };
    let back = match q.back.as_deref() {
        Some(b) if b.starts_with("/console") && !b.contains("//") && !b.contains('\\') => b.to_string(),
        _ => "/console".into(),
    };
    let mut res = Redirect::to(&back).into_response();
    let cookie = format!("{}={lang}; Path=/console; SameSite=Strict; Max-Age=31536000", Lang::COOKIE);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn asset(content_type: &'static str, bytes: &'static [u8]) -> Response {
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], bytes).into_response()
}

pub const ROUTES: &[Route] = &[
    Route::public("GET", "/console/lang"),
    Route::public("GET", "/console/static/console.css"),
    Route::public("GET", "/console/static/console.js"),
    Route::public("GET", "/console/static/NotoSans-Regular.ttf"),
    Route::public("GET", "/console/static/NotoSans-Bold.ttf"),
    Route::public("GET", "/console/static/NotoSansDevanagari-Regular.ttf"),
    Route::public("GET", "/console/static/NotoSansDevanagari-Bold.ttf"),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lang", get(switch_lang))
        .route(
            "/static/console.css",
            get(|| async { asset("text/css; charset=utf-8", include_bytes!("static/console.css")) }),
        )
        .route(
            "/static/console.js",
            get(|| async { asset("text/javascript; charset=utf-8", include_bytes!("static/console.js")) }),
        )
        .route(
            "/static/NotoSans-Regular.ttf",
            get(|| async {
                asset("font/ttf", include_bytes!("../../../crates/ehcard-card/fonts/NotoSans-Regular.ttf"))
            }),
        )
        .route(
            "/static/NotoSans-Bold.ttf",
            get(|| async { asset("font/ttf", include_bytes!("../../../crates/ehcard-card/fonts/NotoSans-Bold.ttf")) }),
        )
        .route(
            "/static/NotoSansDevanagari-Regular.ttf",
            get(|| async {
                asset("font/ttf", include_bytes!("../../../crates/ehcard-card/fonts/NotoSansDevanagari-Regular.ttf"))
            }),
        )
        .route(
            "/static/NotoSansDevanagari-Bold.ttf",
            get(|| async {
                asset("font/ttf", include_bytes!("../../../crates/ehcard-card/fonts/NotoSansDevanagari-Bold.ttf"))
            }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_use_indian_grouping() {
        assert_eq!(fmt_count(0), "0");
        assert_eq!(fmt_count(999), "999");
        assert_eq!(fmt_count(1000), "1,000");
        assert_eq!(fmt_count(100000), "1,00,000");
        assert_eq!(fmt_count(20000000), "2,00,00,000");
        assert_eq!(fmt_count(-1234567), "-12,34,567");
    }

    #[test]
    fn times_are_indian_standard_time() {
        assert_eq!(fmt_time(0), "01 Jan 1970, 05:30");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            url_encode("/console/search?q=राम & x"),
            "/console/search%3Fq%3D%E0%A4%B0%E0%A4%BE%E0%A4%AE%20%26%20x"
        );
    }
}
