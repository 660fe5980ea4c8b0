//! The audit log: newest first, keyset-paged, filtered by who, what, about
//! whom or what, and when. Read-only: no route changes it, and the
//! database refuses updates and deletes of its rows.

use axum::extract::{Query, State};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use maud::{Markup, html};
use serde::Deserialize;

use super::field;
use crate::api::AppState;
use crate::console::layout::{self, Lang, Nav, fmt_time, url_encode};
use crate::console::{ConsoleError, Ctx};
use crate::dedup::AuditEntry;
use crate::store::console_admin::AuditQuery;

const PAGE: u32 = 50;

/// What each known action is called (others are shown as they are).
pub fn action_label(lang: Lang, action: &str) -> Option<&'static str> {
    Some(match action {
        "console.sign_in" => lang.t("Signed in", "साइन इन किया"),
        "console.sign_in_failed" => lang.t("Sign-in failed", "साइन इन विफल"),
        "console.sign_out" => lang.t("Signed out", "साइन आउट किया"),
        "console.tablet_add" => lang.t("Tablet added (console)", "टैबलेट जोड़ा (कंसोल)"),
        "console.tablet_revoke" => lang.t("Tablet revoked (console)", "टैबलेट रद्द किया (कंसोल)"),
        "device_add" => lang.t("Tablet added (command line)", "टैबलेट जोड़ा (कमांड लाइन)"),
        "device_revoke" => lang.t("Tablet revoked (command line)", "टैबलेट रद्द किया (कमांड लाइन)"),
        "console.staff_add" => lang.t("Account added (console)", "खाता जोड़ा (कंसोल)"),
        "console.staff_disable" => lang.t("Account disabled (console)", "खाता बंद किया (कंसोल)"),
        "console.staff_password" => lang.t("Password reset (console)", "पासवर्ड बदला (कंसोल)"),
        "user_add" => lang.t("Account added (command line)", "खाता जोड़ा (कमांड लाइन)"),
        "user_disable" => lang.t("Account disabled (command line)", "खाता बंद किया (कमांड लाइन)"),
        "console.roll_upload" => lang.t("Roll file uploaded", "सूची फ़ाइल अपलोड की"),
        "console.roll_import" => lang.t("Roll upload checked / imported", "सूची अपलोड जाँचा / आयात हुआ"),
        "import_roll" => lang.t("Roll imported (command line)", "सूची आयात (कमांड लाइन)"),
        "merge" => lang.t("Records merged", "रिकॉर्ड मिलाए"),
        "unmerge" => lang.t("Merge undone", "मिलान वापस लिया"),
        "not_duplicate" => lang.t("Marked different people", "अलग लोग माने"),
        "console.resolve_conflict" => lang.t("Conflict resolved", "टकराव सुलझाया"),
        "console.approve" => lang.t("Approved for a card", "कार्ड के लिए स्वीकृत"),
        "console.approval_revoke" => lang.t("Approval withdrawn", "स्वीकृति वापस ली"),
        "console.print_card" => lang.t("Cards printed", "कार्ड छापे"),
        "sync_push" => lang.t("Tablet sent records (sync)", "टैबलेट ने रिकॉर्ड भेजे (सिंक)"),
        "device_provisioned" => lang.t("Tablet provisioned with its code", "टैबलेट कोड से चालू हुआ"),
        _ => return None,
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditFilter {
    #[serde(default)]
    actor: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    before: Option<String>,
}

impl AuditFilter {
    /// The filter as a query string (for the next page's link).
    fn query(&self) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("actor", &self.actor),
            ("action", &self.action),
            ("subject", &self.subject),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = field(v) {
                parts.push(format!("{k}={}", url_encode(v)));
            }
        }
        parts.join("&")
    }
}

/// Midnight (IST) starting `date`, as a timestamp.
fn ist_midnight(date: NaiveDate) -> Option<i64> {
    let ist = FixedOffset::east_opt(5 * 3600 + 1800)?;
    ist.from_local_datetime(&date.and_hms_opt(0, 0, 0)?).single().map(|t| t.timestamp())
}

/// The subjects a typed subject stands for: itself, a staff account or a
/// device of that name, the record an eHealth ID belongs to (and the one it
/// lives on now), the device with that number.
async fn subjects_of(state: &AppState, text: &str) -> Result<Vec<String>, crate::store::StoreError> {
    let mut out = vec![text.to_string()];
    if !text.contains(':') {
        out.push(format!("staff:{text}"));
        out.push(format!("device:{text}"));
    }
    if let Ok(h) = text.parse::<ehcard_core::HealthId>()
        && let Some((record, current)) = state.store.resolve_health_id(&h.compact()).await?
    {
        out.push(record);
        out.push(current);
    }
    if let Ok(n) = text.parse::<u32>()
        && text.len() <= 5
        && let Some(d) = state.store.devices().await?.into_iter().find(|d| d.number == n)
    {
        out.push(format!("device:{}", d.id));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn detail_view(lang: Lang, v: &serde_json::Value) -> Markup {
    let value = |k: &str, v: &serde_json::Value| -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) if k.ends_with("_at") => {
                n.as_i64().map(fmt_time).unwrap_or_else(|| n.to_string())
            }
            serde_json::Value::Null => "—".into(),
            other => other.to_string(),
        }
    };
    html! {
        @match v {
            serde_json::Value::Object(map) if !map.is_empty() => {
                dl.detail {
                    @for (k, v) in map {
                        @if let serde_json::Value::Object(inner) = v {
                            dt { (k) }
                            dd { @for (ik, iv) in inner { span.kv { (ik) ": " (value(ik, iv)) } " " } }
                        } @else {
                            dt { (k) } dd { (value(k, v)) }
                        }
                    }
                }
            }
            serde_json::Value::Object(_) | serde_json::Value::Null => { span.muted { (lang.t("—", "—")) } }
            other => { code { (other.to_string()) } }
        }
    }
}

/// GET /console/audit: the log, newest first.
pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(f): Query<AuditFilter>,
) -> Result<Markup, ConsoleError> {
    let bad_date = || {
        ConsoleError::bad(
            &ctx,
            ctx.t("Dates are written YYYY-MM-DD (for example 2026-11-28).", "तारीख YYYY-MM-DD में लिखें (जैसे 2026-11-28)।"),
        )
    };
    let date = |v: &Option<String>| -> Result<Option<NaiveDate>, ConsoleError> {
        match field(v) {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Some).map_err(|_| bad_date()),
        }
    };
    let from = date(&f.from)?.and_then(ist_midnight);
    let to = date(&f.to)?.and_then(|d| d.succ_opt()).and_then(ist_midnight);
    let before = match field(&f.before) {
        None => None,
        Some(b) => Some(b.parse::<i64>().map_err(|_| {
            ConsoleError::bad(
                &ctx,
                ctx.t(
                    "That page link is damaged: start again from the newest entries.",
                    "यह पेज लिंक खराब है: सबसे नई प्रविष्टियों से फिर शुरू करें।",
                ),
            )
        })?),
    };
    let subjects = match field(&f.subject) {
        None => Vec::new(),
        Some(s) => subjects_of(&state, &s.chars().take(100).collect::<String>())
            .await
            .map_err(|e| ConsoleError::store(&ctx, e))?,
    };
    let query = AuditQuery {
        actor: field(&f.actor).map(|s| s.chars().take(100).collect()),
        action: field(&f.action).map(|s| s.chars().take(100).collect()),
        subjects,
        from,
        to,
        before,
        limit: PAGE + 1,
    };
    let store = &state.store;
    let mut entries: Vec<AuditEntry> = store.audit_page(query).await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let more = entries.len() > PAGE as usize;
    entries.truncate(PAGE as usize);
    let actions = store.audit_actions().await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let staff = store.staff_list().await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let chosen = field(&f.action);
    let filtered = !f.query().is_empty();
    let next = entries.last().map(|e| {
        let q = f.query();
        format!("/console/audit?{}{}before={}", q, if q.is_empty() { "" } else { "&" }, e.seq)
    });
    let body = html! {
        p.muted { (ctx.t(
            "Every sign-in, decision and administration step, by staff on the console and on the command line. Entries are only ever added: nobody can change or delete them.",
            "हर साइन-इन, फ़ैसला और प्रशासन का कदम, कंसोल और कमांड लाइन पर स्टाफ़ द्वारा। प्रविष्टियाँ सिर्फ़ जोड़ी जाती हैं: कोई उन्हें बदल या मिटा नहीं सकता।"
        )) }
        form.filters method="get" action="/console/audit" role="search" {
            div {
                label for="actor" { (ctx.t("Who", "किसने")) }
                input #actor name="actor" list="staff-names" value=[field(&f.actor)] autocomplete="off";
                datalist #staff-names { @for s in &staff { option value=(s.name) {} } }
            }
            div {
                label for="action" { (ctx.t("What", "क्या")) }
                select #action name="action" {
                    option value="" { (ctx.t("any action", "कोई भी कार्य")) }
                    @for a in &actions {
                        option value=(a) selected[chosen == Some(a.as_str())] {
                            (action_label(ctx.lang, a).unwrap_or(a))
                        }
                    }
                }
            }
            div {
                label for="subject" { (ctx.t("About (record id, eHealth ID, tablet, staff name, file)", "किसके बारे में (रिकॉर्ड id, ई-हेल्थ ID, टैबलेट, स्टाफ़ नाम, फ़ाइल)")) }
                input #subject name="subject" value=[field(&f.subject)] autocomplete="off" data-key="slash";
            }
            div {
                label for="from" { (ctx.t("From", "से")) }
                input #from name="from" type="date" value=[field(&f.from)];
            }
            div {
                label for="to" { (ctx.t("To", "तक")) }
                input #to name="to" type="date" value=[field(&f.to)];
            }
            div { button.primary type="submit" { (ctx.t("Filter", "छाँटें")) } }
            @if filtered { div { a href="/console/audit" { (ctx.t("Clear", "हटाएँ")) } } }
        }
        @if entries.is_empty() {
            p { (ctx.t("No entries match.", "कोई प्रविष्टि मेल नहीं खाती।")) }
        } @else {
            table.audit {
                thead { tr {
                    th { (ctx.t("When (IST)", "कब (IST)")) }
                    th { (ctx.t("Who", "किसने")) }
                    th { (ctx.t("What", "क्या")) }
                    th { (ctx.t("About", "किसके बारे में")) }
                    th { (ctx.t("Details", "विवरण")) }
                } }
                tbody {
                    @for e in &entries {
                        tr data-seq=(e.seq) data-action=(e.action) {
                            td.when { (fmt_time(e.at)) }
                            td {
                                // A tablet's lines name it by its label and number.
                                @match (e.detail.get("label").and_then(|l| l.as_str()), e.detail.get("tablet").and_then(|n| n.as_i64())) {
                                    (Some(label), Some(n)) if e.subject == format!("device:{}", e.actor) => {
                                        (label) br; span.muted { (ctx.t("tablet", "टैबलेट")) " " (n) }
                                    }
                                    _ => { (e.actor) }
                                }
                            }
                            td {
                                @match action_label(ctx.lang, &e.action) {
                                    Some(l) => { (l) br; code.muted { (e.action) } }
                                    None => { code { (e.action) } }
                                }
                            }
                            td.subject { (e.subject) }
                            td { (detail_view(ctx.lang, &e.detail)) }
                        }
                    }
                }
            }
        }
        div.pager {
            @if before.is_some() {
                @let q = f.query();
                a href=(if q.is_empty() { "/console/audit".to_string() } else { format!("/console/audit?{q}") }) { (ctx.t("← Newest", "← सबसे नई")) }
            }
            @if more { @if let Some(n) = &next { a href=(n) rel="next" { (ctx.t("Older →", "पुरानी →")) } } }
        }
    };
    Ok(layout::page(&ctx, Nav::Audit, ctx.t("Audit log", "ऑडिट लॉग"), body))
}
