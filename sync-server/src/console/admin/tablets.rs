//! Tablets: provision one (its one-time code, shown once, with a QR code
//! the field app reads), list them, revoke a lost one.
//!
//! The code is a secret: the registry keeps only its hash
//! ([`crate::api::code_hash`]); the page that shows it is the answer to
//! the POST that made it, and is never stored or cached.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use ehcard_core::Entropy;
use maud::{Markup, html};
use qrcode::{EcLevel, QrCode};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Deserialize;

use super::field;
use crate::api::{AppState, code_hash};
use crate::console::layout::{self, Lang, Nav, csrf_field, fmt_count, fmt_time, notice};
use crate::console::{ConsoleError, Ctx};
use crate::dedup::NewAudit;
use crate::store::{Device, DynStore, NewDevice, StoreError};

/// Longest validity of a provisioning code: 30 days.
pub const MAX_CODE_HOURS: i64 = 30 * 24;
/// The code's validity the form offers first.
pub const DEFAULT_CODE_HOURS: i64 = 72;
/// Most wards one tablet may hold.
pub const MAX_WARDS: usize = 250;
pub const MAX_LABEL: usize = 80;
/// A tablet that has not synced for this long is flagged.
pub const STALE_SECONDS: i64 = 3 * 86_400;
const PAGE: usize = 100;

/// The operating system's randomness (record ids of new devices, roll imports).
pub struct OsEntropy(pub SystemRandom);

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if self.0.fill(buf).is_err() {
            panic!("the operating system's random number generator failed");
        }
    }
}

/// Why a tablet cannot be added as asked.
#[derive(Debug, thiserror::Error)]
pub enum TabletError {
    #[error("ward {0} is not a ward number (1-250)")]
    BadWard(String),
    #[error("name at least one ward (1-250)")]
    NoWards,
    #[error("--label must not be empty")]
    EmptyLabel,
    #[error("the label is longer than {MAX_LABEL} characters")]
    LongLabel,
    #[error("the code's validity must be 1 to {MAX_CODE_HOURS} hours")]
    BadHours,
    #[error("the public URL {0:?} must start with http:// or https://")]
    BadUrl(String),
    #[error("the random number generator failed")]
    Random,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TabletError {
    /// What is wrong, in the staff member's language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            TabletError::BadWard(w) => format!(
                "{} {w:?} {}",
                lang.t("Ward", "वार्ड"),
                lang.t(
                    "is not a ward number. Wards are numbered 1 to 250; separate them with commas.",
                    "वार्ड संख्या नहीं है। वार्ड 1 से 250 तक हैं; उन्हें कॉमा से अलग करें।"
                )
            ),
            TabletError::NoWards => lang
                .t("Name at least one ward (1 to 250) for the tablet.", "टैबलेट के लिए कम से कम एक वार्ड (1 से 250) लिखें।")
                .into(),
            TabletError::EmptyLabel => lang
                .t(
                    "Give the tablet a label (for example the team's name) so it can be found later.",
                    "टैबलेट को एक नाम दें (जैसे टीम का नाम) ताकि बाद में उसे ढूँढा जा सके।",
                )
                .into(),
            TabletError::LongLabel => {
                lang.t("The label is too long: at most 80 characters.", "नाम बहुत लंबा है: अधिकतम 80 अक्षर।").into()
            }
            TabletError::BadHours => lang
                .t(
                    "The code's validity must be 1 to 720 hours (30 days).",
                    "कोड की वैधता 1 से 720 घंटे (30 दिन) होनी चाहिए।",
                )
                .into(),
            other => other.to_string(),
        }
    }
}

/// 16 characters of Crockford base32 in groups of four: 80 bits.
pub fn new_code() -> Result<String, TabletError> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| TabletError::Random)?;
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[(*b as usize) % 32] as char).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
}

/// Ward numbers typed as "12, 13 14": each 1-250, at least one, sorted.
pub fn parse_wards(text: &str) -> Result<Vec<u16>, TabletError> {
    let mut wards = Vec::new();
    for w in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        match w.parse::<u16>() {
            Ok(n) if (1..=250).contains(&n) => wards.push(n),
            _ => return Err(TabletError::BadWard(w.chars().take(20).collect())),
        }
    }
    check_wards(wards)
}

fn check_wards(mut wards: Vec<u16>) -> Result<Vec<u16>, TabletError> {
    if let Some(bad) = wards.iter().find(|w| !(1..=250).contains(*w)) {
        return Err(TabletError::BadWard(bad.to_string()));
    }
    wards.sort_unstable();
    wards.dedup();
    if wards.is_empty() {
        return Err(TabletError::NoWards);
    }
    if wards.len() > MAX_WARDS {
        return Err(TabletError::BadWard(format!("{}", wards.len())));
    }
    Ok(wards)
}

/// A tablet to add.
#[derive(Debug, Clone)]
pub struct NewTablet {
    pub label: String,
    pub wards: Vec<u16>,
    /// Hours until the one-time code expires.
    pub code_hours: i64,
}

/// Add a tablet awaiting provisioning and audit it (as `action` by
/// `actor`): the device, and its one-time code (only its hash is stored).
pub async fn add_tablet(
    store: &DynStore,
    new: NewTablet,
    actor: &str,
    action: &str,
    now: i64,
) -> Result<(Device, String), TabletError> {
    let label = new.label.trim().to_string();
    if label.is_empty() {
        return Err(TabletError::EmptyLabel);
    }
    if label.chars().count() > MAX_LABEL {
        return Err(TabletError::LongLabel);
    }
    let wards = check_wards(new.wards)?;
    if !(1..=MAX_CODE_HOURS).contains(&new.code_hours) {
        return Err(TabletError::BadHours);
    }
    let code = new_code()?;
    let id = ehcard_core::RecordId::new_v7((now * 1000) as u64, &mut OsEntropy(SystemRandom::new()));
    let expires = now + new.code_hours * 3600;
    let d = store
        .add_device(NewDevice {
            id: id.to_string(),
            label,
            wards,
            code_hash: code_hash(&code),
            code_expires_at: expires,
            now,
        })
        .await?;
    store
        .audit(NewAudit {
            at: now,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: format!("device:{}", d.id),
            detail: serde_json::json!({
                "number": d.number, "label": d.label, "wards": d.wards, "code_expires_at": expires,
            }),
        })
        .await?;
    Ok((d, code))
}

/// Revoke a tablet and audit it: its next request is refused.
pub async fn revoke_tablet(
    store: &DynStore,
    id: &str,
    actor: &str,
    action: &str,
    now: i64,
) -> Result<Device, StoreError> {
    let before = store.device(id).await?.ok_or_else(|| StoreError::NoDevice(id.to_string()))?;
    let d = store.revoke_device(id, now).await?;
    if before.revoked_at.is_none() {
        store
            .audit(NewAudit {
                at: now,
                actor: actor.to_string(),
                action: action.to_string(),
                subject: format!("device:{}", d.id),
                detail: serde_json::json!({"number": d.number, "label": d.label, "wards": d.wards,
                    "was": before.status()}),
            })
            .await?;
    }
    Ok(d)
}

/// The server's address for provisioning QR codes: `--public-url`, or the
/// listen address when it names a host tablets can reach.
pub fn public_url(given: Option<String>, listen: SocketAddr, tls: bool) -> Result<Option<String>, TabletError> {
    if let Some(url) = given.map(|u| u.trim().trim_end_matches('/').to_string()).filter(|u| !u.is_empty()) {
        let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
        if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
            return Err(TabletError::BadUrl(url));
        }
        return Ok(Some(url));
    }
    if listen.ip().is_unspecified() {
        return Ok(None);
    }
    Ok(Some(format!("{}://{listen}", if tls { "https" } else { "http" })))
}

/// What a provisioning QR code holds: the JSON the field app's "read the
/// code from a QR image" expects (`ui/src/screens/Setup.svelte`: an object
/// with `server` and `code`), or the bare code when the server has no
/// public address.
pub fn qr_payload(server: Option<&str>, code: &str) -> String {
    match server {
        Some(s) => serde_json::json!({"server": s, "code": code}).to_string(),
        None => code.to_string(),
    }
}

/// A QR code as inline SVG: one path of dark modules (presentation
/// attributes only; the page's CSP allows no inline style).
pub fn qr_svg(text: &str, label: &str) -> Option<Markup> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let w = code.width();
    let quiet = 4;
    let size = w + 2 * quiet;
    let mut d = String::new();
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == qrcode::Color::Dark {
            d.push_str(&format!("M{} {}h1v1h-1z", i % w + quiet, i / w + quiet));
        }
    }
    Some(html! {
        svg.qr xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {size} {size}")) width="280" height="280"
            shape-rendering="crispEdges" role="img" aria-label=(label) {
            rect width=(size) height=(size) fill="#ffffff" {}
            path d=(d) fill="#000000" {}
        }
    })
}

fn status_label(lang: Lang, d: &Device) -> (&'static str, &'static str) {
    match d.status() {
        "revoked" => ("bad", lang.t("revoked", "रद्द")),
        "active" => ("ok", lang.t("active", "सक्रिय")),
        _ => ("warn", lang.t("awaiting provisioning", "प्रोविज़निंग बाकी")),
    }
}

fn wards_text(w: &[u16]) -> String {
    w.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(", ")
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    ward: Option<String>,
    #[serde(default)]
    page: Option<String>,
    #[serde(default)]
    revoked: Option<String>,
}

/// GET /console/tablets: every tablet, filtered by label or number, status and ward.
pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> Result<Markup, ConsoleError> {
    // Tablets number in the thousands, not millions: one query, filtered here.
    let all = state.store.devices().await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let search = field(&q.q).map(str::to_lowercase);
    let status = field(&q.status).filter(|s| ["active", "awaiting", "revoked"].contains(s));
    let ward = match field(&q.ward) {
        None => None,
        Some(w) => match w.parse::<u16>() {
            Ok(n) if (1..=250).contains(&n) => Some(n),
            _ => {
                return Err(ConsoleError::bad(
                    &ctx,
                    ctx.t(
                        "The ward filter must be a ward number, 1 to 250.",
                        "वार्ड फ़िल्टर 1 से 250 तक की वार्ड संख्या होनी चाहिए।",
                    ),
                ));
            }
        },
    };
    let page: usize = field(&q.page).and_then(|p| p.parse().ok()).unwrap_or(0).min(1000);
    let mut shown: Vec<&Device> = all
        .iter()
        .filter(|d| match status {
            Some("active") => d.status() == "active",
            Some("awaiting") => d.status() == "awaiting provisioning",
            Some("revoked") => d.status() == "revoked",
            _ => true,
        })
        .filter(|d| ward.is_none_or(|w| d.wards.contains(&w)))
        .filter(|d| {
            search.as_deref().is_none_or(|s| d.label.to_lowercase().contains(s) || d.number.to_string() == s.trim())
        })
        .collect();
    shown.sort_by_key(|d| std::cmp::Reverse(d.number));
    let total = shown.len();
    let rows: Vec<&Device> = shown.into_iter().skip(page * PAGE).take(PAGE).collect();
    let revoked = match field(&q.revoked) {
        Some(id) => all.iter().find(|d| d.id == id),
        None => None,
    };
    let counts = |s: &str| all.iter().filter(|d| d.status() == s).count() as i64;
    let now = ctx.now;
    let link = |p: usize| {
        let mut s = format!("/console/tablets?page={p}");
        for (k, v) in [("q", &q.q), ("status", &q.status), ("ward", &q.ward)] {
            if let Some(v) = field(v) {
                s.push_str(&format!("&{k}={}", layout::url_encode(v)));
            }
        }
        s
    };
    let body = html! {
        @if let Some(d) = revoked {
            (notice(&format!(
                "{} {} ({}) {}",
                ctx.t("Tablet", "टैबलेट"), d.number, d.label,
                ctx.t("is revoked: its next sync is refused. What it synced before stays in the registry.",
                      "रद्द कर दिया गया: उसका अगला सिंक अस्वीकार होगा। पहले सिंक हुआ डेटा रजिस्ट्री में रहता है।")
            )))
        }
        div.cards {
            div.card { span.figure { (fmt_count(counts("active"))) } " " span.label { (ctx.t("active", "सक्रिय")) } }
            div.card { span.figure { (fmt_count(counts("awaiting provisioning"))) } " " span.label { (ctx.t("awaiting provisioning", "प्रोविज़निंग बाकी")) } }
            div.card { span.figure { (fmt_count(counts("revoked"))) } " " span.label { (ctx.t("revoked", "रद्द")) } }
        }
        form.filters method="get" action="/console/tablets" role="search" {
            div {
                label for="q" { (ctx.t("Label or number", "नाम या संख्या")) }
                input #q name="q" type="search" value=[field(&q.q)] data-key="slash"
                    placeholder=(ctx.t("e.g. Ward 12 team 3", "जैसे वार्ड 12 टीम 3"));
            }
            div {
                label for="status" { (ctx.t("Status", "स्थिति")) }
                select #status name="status" {
                    option value="" { (ctx.t("all", "सभी")) }
                    @for (v, en, hi) in [("active", "active", "सक्रिय"), ("awaiting", "awaiting provisioning", "प्रोविज़निंग बाकी"), ("revoked", "revoked", "रद्द")] {
                        option value=(v) selected[status == Some(v)] { (ctx.t(en, hi)) }
                    }
                }
            }
            div {
                label for="ward" { (ctx.t("Ward", "वार्ड")) }
                input #ward name="ward" type="number" min="1" max="250" value=[ward];
            }
            div { button type="submit" { (ctx.t("Filter", "छाँटें")) } }
        }
        @if rows.is_empty() {
            p { (ctx.t("No tablet matches.", "कोई टैबलेट मेल नहीं खाता।")) }
        } @else {
            table.tablets {
                thead { tr {
                    th { (ctx.t("Number", "संख्या")) }
                    th { (ctx.t("Label", "नाम")) }
                    th { (ctx.t("Wards", "वार्ड")) }
                    th { (ctx.t("Status", "स्थिति")) }
                    th { (ctx.t("Provisioned", "प्रोविज़न हुआ")) }
                    th { (ctx.t("Last sync", "पिछला सिंक")) }
                    th { (ctx.t("Code expires", "कोड की समय-सीमा")) }
                    th { span.visually-hidden { (ctx.t("Actions", "कार्य")) } }
                } }
                tbody {
                    @for d in &rows {
                        @let (class, label) = status_label(ctx.lang, d);
                        tr data-device=(d.id) {
                            td.num { (d.number) }
                            td { (d.label) }
                            td { (wards_text(&d.wards)) }
                            td { span class=(format!("badge {class}")) { (label) } }
                            td { (d.provisioned_at.map(fmt_time).unwrap_or_else(|| "—".into())) }
                            td {
                                @match d.last_sync_at {
                                    Some(t) => {
                                        (fmt_time(t))
                                        @if d.revoked_at.is_none() && now - t > STALE_SECONDS {
                                            " " span.badge.warn { (ctx.t("no sync for 3+ days", "3+ दिन से सिंक नहीं")) }
                                        }
                                    }
                                    None => { (ctx.t("never", "कभी नहीं")) }
                                }
                            }
                            td {
                                @match (d.status(), d.code_expires_at) {
                                    ("awaiting provisioning", Some(t)) => {
                                        (fmt_time(t))
                                        @if t < now { " " span.badge.bad { (ctx.t("expired", "समाप्त")) } }
                                    }
                                    _ => { "—" }
                                }
                            }
                            td {
                                @if d.revoked_at.is_none() {
                                    a.button.danger href=(format!("/console/tablets/{}/revoke", d.id)) {
                                        (ctx.t("Revoke…", "रद्द करें…"))
                                    }
                                } @else {
                                    (d.revoked_at.map(fmt_time).unwrap_or_default())
                                }
                            }
                        }
                    }
                }
            }
            div.pager {
                @if page > 0 { a href=(link(page - 1)) { (ctx.t("← Newer", "← नए")) } }
                span { (fmt_count(total as i64)) " " (ctx.t("tablets", "टैबलेट")) }
                @if (page + 1) * PAGE < total { a href=(link(page + 1)) { (ctx.t("Older →", "पुराने →")) } }
            }
        }
        section.provision {
            h2 { (ctx.t("Provision a tablet", "नया टैबलेट प्रोविज़न करें")) }
            p.hint { (ctx.t(
                "The tablet gets a one-time code, shown once on the next page with its QR code. The code works once, until it expires.",
                "टैबलेट को एक बार का कोड मिलेगा, जो अगले पेज पर QR कोड के साथ सिर्फ़ एक बार दिखेगा। कोड एक ही बार, समय-सीमा तक चलता है।"
            )) }
            form.stack method="post" action="/console/tablets" {
                (csrf_field(&ctx))
                label for="label" { (ctx.t("Label", "नाम")) }
                input #label name="label" required maxlength="80" autocomplete="off"
                    placeholder=(ctx.t("e.g. Ward 12 team 3", "जैसे वार्ड 12 टीम 3"));
                label for="wards" { (ctx.t("Wards (1–250, separated by commas)", "वार्ड (1–250, कॉमा से अलग)")) }
                input #wards name="wards" required autocomplete="off" inputmode="numeric" placeholder="12, 13";
                label for="hours" { (ctx.t("Code valid for (hours)", "कोड कितने घंटे मान्य रहे")) }
                input #hours name="hours" type="number" min="1" max=(MAX_CODE_HOURS) value=(DEFAULT_CODE_HOURS) required;
                button.primary type="submit" { (ctx.t("Provision", "प्रोविज़न करें")) }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Tablets, ctx.t("Tablets", "टैबलेट"), body))
}

#[derive(Deserialize)]
pub struct ProvisionForm {
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    wards: Option<String>,
    #[serde(default)]
    hours: Option<String>,
}

/// POST /console/tablets: add a tablet and show its one-time code, once.
pub async fn provision(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<ProvisionForm>,
) -> Result<Response, ConsoleError> {
    let bad = |e: TabletError| ConsoleError::bad(&ctx, e.message(ctx.lang));
    let wards = parse_wards(f.wards.as_deref().unwrap_or("")).map_err(bad)?;
    let hours = match field(&f.hours) {
        None => DEFAULT_CODE_HOURS,
        Some(h) => h.parse::<i64>().map_err(|_| bad(TabletError::BadHours))?,
    };
    let new = NewTablet { label: f.label.unwrap_or_default(), wards, code_hours: hours };
    let (d, code) = match add_tablet(&state.store, new, &ctx.staff.name, "console.tablet_add", ctx.now).await {
        Ok(x) => x,
        Err(TabletError::Store(e)) => return Err(ConsoleError::store(&ctx, e)),
        Err(e) => return Err(bad(e)),
    };
    let server = state.public_url.as_deref().map(String::as_str);
    let payload = qr_payload(server, &code);
    let expires = d.code_expires_at.unwrap_or(ctx.now);
    let body = html! {
        (notice(&format!("{} {} ({}) {}", ctx.t("Tablet", "टैबलेट"), d.number, d.label,
            ctx.t("was added. Provision it now with this code.", "जोड़ा गया। अब इस कोड से उसे प्रोविज़न करें।"))))
        div.provisioned {
            div.secret {
                p.warn role="note" { (ctx.t(
                    "This code is shown only this once: the registry keeps only a fingerprint of it. Write it down or scan it now; do not share a photo of it.",
                    "यह कोड सिर्फ़ इसी बार दिखेगा: रजिस्ट्री इसकी सिर्फ़ एक छाप रखती है। इसे अभी लिख लें या स्कैन करें; इसकी फ़ोटो किसी से साझा न करें।"
                )) }
                p { (ctx.t("One-time code", "एक बार का कोड")) }
                p.code data-code=(code) { kbd { (code) } }
                dl.facts {
                    dt { (ctx.t("Tablet number", "टैबलेट संख्या")) } dd { (d.number) }
                    dt { (ctx.t("Label", "नाम")) } dd { (d.label) }
                    dt { (ctx.t("Wards", "वार्ड")) } dd { (wards_text(&d.wards)) }
                    dt { (ctx.t("Code expires", "कोड की समय-सीमा")) } dd { (fmt_time(expires)) " IST" }
                    dt { (ctx.t("Server address", "सर्वर का पता")) } dd {
                        @match server {
                            Some(s) => { code { (s) } }
                            None => { (ctx.t("not configured (start the server with --public-url)", "तय नहीं है (सर्वर को --public-url के साथ चलाएँ)")) }
                        }
                    }
                }
            }
            figure.qr-box {
                @if let Some(svg) = qr_svg(&payload, ctx.t("QR code of the provisioning code", "प्रोविज़निंग कोड का QR कोड")) {
                    (svg)
                }
                figcaption { (ctx.t(
                    "On the tablet: open ehcard, choose “Read the code from a QR image” and photograph this code; or type the server address and the code.",
                    "टैबलेट पर: ehcard खोलें, “QR इमेज से कोड पढ़ें” चुनें और इस कोड की फ़ोटो लें; या सर्वर का पता और कोड टाइप करें।"
                )) }
            }
        }
        p { (ctx.t("From a command line:", "कमांड लाइन से:")) " "
            code { "ehcard init --server " (server.unwrap_or("URL")) " --code " (code) } }
        p { a href="/console/tablets" { (ctx.t("Back to the tablets", "टैबलेट सूची पर वापस")) } }
    };
    Ok(layout::page(&ctx, Nav::Tablets, ctx.t("Tablet added", "टैबलेट जोड़ा गया"), body).into_response())
}

/// A device id from the address: a UUID, or "not found".
async fn device_of(state: &AppState, ctx: &Ctx, id: &str) -> Result<Device, ConsoleError> {
    let missing = || ConsoleError::not_found(ctx, ctx.t("There is no such tablet.", "ऐसा कोई टैबलेट नहीं है।"));
    if id.len() > 64 || id.parse::<ehcard_core::RecordId>().is_err() {
        return Err(missing());
    }
    state.store.device(id).await.map_err(|e| ConsoleError::store(ctx, e))?.ok_or_else(missing)
}

fn what_revoking_does(ctx: &Ctx) -> Markup {
    html! {
        ul.consequences {
            li { (ctx.t("Its next sync is refused, and so is every later request.", "उसका अगला सिंक और आगे की हर माँग अस्वीकार होगी।")) }
            li { (ctx.t("Records it synced before stay in the registry, unchanged. Records still on the tablet that were never synced are not received.",
                        "पहले सिंक हुए रिकॉर्ड रजिस्ट्री में जस के तस रहते हैं। टैबलेट पर जो रिकॉर्ड कभी सिंक नहीं हुए, वे नहीं आएँगे।")) }
            li { (ctx.t("Its key is marked revoked in the trust list: cards it signs from now on do not verify.",
                        "ट्रस्ट सूची में उसकी कुंजी रद्द मानी जाएगी: अब से उसके बनाए कार्ड सत्यापित नहीं होंगे।")) }
            li { (ctx.t("This cannot be undone: a found tablet is provisioned again with a new code.",
                        "इसे वापस नहीं किया जा सकता: मिला हुआ टैबलेट नए कोड से फिर प्रोविज़न होगा।")) }
        }
    }
}

/// GET /console/tablets/{id}/revoke: what revoking does, and the form.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Markup, ConsoleError> {
    let d = device_of(&state, &ctx, &id).await?;
    let (class, label) = status_label(ctx.lang, &d);
    let question = format!("{} {} ({})?", ctx.t("Revoke tablet", "टैबलेट रद्द करें"), d.number, d.label);
    let body = html! {
        dl.facts {
            dt { (ctx.t("Tablet number", "टैबलेट संख्या")) } dd { (d.number) }
            dt { (ctx.t("Label", "नाम")) } dd { (d.label) }
            dt { (ctx.t("Wards", "वार्ड")) } dd { (wards_text(&d.wards)) }
            dt { (ctx.t("Status", "स्थिति")) } dd { span class=(format!("badge {class}")) { (label) } }
            dt { (ctx.t("Last sync", "पिछला सिंक")) } dd { (d.last_sync_at.map(fmt_time).unwrap_or_else(|| ctx.t("never", "कभी नहीं").into())) }
        }
        @if d.revoked_at.is_some() {
            p { (ctx.t("This tablet is already revoked.", "यह टैबलेट पहले ही रद्द है।")) }
        } @else {
            h2 { (ctx.t("What revoking does", "रद्द करने से क्या होता है")) }
            (what_revoking_does(&ctx))
            form.stack method="post" action=(format!("/console/tablets/{}/revoke", d.id)) data-confirm=(question) {
                (csrf_field(&ctx))
                label.check {
                    input type="checkbox" name="confirm" value="yes" required;
                    " " (ctx.t("I understand: revoke this tablet now.", "मैं समझता/समझती हूँ: इस टैबलेट को अभी रद्द करें।"))
                }
                button.danger type="submit" { (ctx.t("Revoke tablet", "टैबलेट रद्द करें")) }
            }
        }
        p { a href="/console/tablets" { (ctx.t("Back to the tablets", "टैबलेट सूची पर वापस")) } }
    };
    Ok(layout::page(&ctx, Nav::Tablets, &question, body))
}

#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    confirm: Option<String>,
}

/// POST /console/tablets/{id}/revoke: revoke (the box must be ticked).
pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, ConsoleError> {
    let d = device_of(&state, &ctx, &id).await?;
    if f.confirm.as_deref() != Some("yes") {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t(
                "Nothing was revoked: tick the box to confirm, then press Revoke again.",
                "कुछ रद्द नहीं हुआ: पुष्टि के लिए बॉक्स पर निशान लगाएँ, फिर दोबारा रद्द करें दबाएँ।",
            ),
        ));
    }
    revoke_tablet(&state.store, &d.id, &ctx.staff.name, "console.tablet_revoke", ctx.now)
        .await
        .map_err(|e| ConsoleError::store(&ctx, e))?;
    Ok(Redirect::to(&format!("/console/tablets?revoked={}", d.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wards_are_checked_and_sorted() {
        assert_eq!(parse_wards("13, 12 12,250").ok(), Some(vec![12, 13, 250]));
        assert!(matches!(parse_wards(""), Err(TabletError::NoWards)));
        assert!(matches!(parse_wards("0"), Err(TabletError::BadWard(_))));
        assert!(matches!(parse_wards("251"), Err(TabletError::BadWard(_))));
        assert!(matches!(parse_wards("12;13"), Err(TabletError::BadWard(_))));
    }

    #[test]
    fn codes_are_four_groups_of_crockford_base32() {
        let c = new_code().ok().unwrap_or_default();
        assert_eq!(c.len(), 19);
        assert!(c.split('-').all(|g| g.len() == 4 && g.chars().all(|ch| ch.is_ascii_alphanumeric())));
        assert!(!c.contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn the_qr_payload_is_what_the_field_app_reads() {
        let p = qr_payload(Some("https://registry.example"), "ABCD-EFGH-JKMN-PQRS");
        let v: serde_json::Value = serde_json::from_str(&p).unwrap_or_default();
        assert_eq!(v["server"], "https://registry.example");
        assert_eq!(v["code"], "ABCD-EFGH-JKMN-PQRS");
        assert_eq!(qr_payload(None, "ABCD"), "ABCD");
        let svg = qr_svg(&p, "qr").map(|m| m.into_string()).unwrap_or_default();
        assert!(svg.starts_with("<svg") && !svg.contains("style="), "{svg}");
    }

    #[test]
    fn the_public_url_is_configured_or_the_listen_address() {
        let listen: SocketAddr = "127.0.0.1:8480".parse().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8480)));
        assert_eq!(public_url(None, listen, false).ok().flatten().as_deref(), Some("http://127.0.0.1:8480"));
        assert_eq!(
            public_url(Some("https://reg.example/".into()), listen, false).ok().flatten().as_deref(),
            Some("https://reg.example")
        );
        assert!(public_url(Some("reg.example".into()), listen, false).is_err());
        let any = SocketAddr::from(([0, 0, 0, 0], 8480));
        assert_eq!(public_url(None, any, true).ok().flatten(), None);
    }
}
