//! Search and the record view: one box finds residents by any name in
//! either script, eHealth ID (a merged-away one lands on the survivor),
//! mobile number, voter id or record id; a record's page shows its current
//! values, card status, household, history (who, which tablet, when, what
//! changed) and its field conflicts with every value and its author, with
//! the form a reviewer settles them with.

mod history;

use std::collections::HashMap;

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ehcard_core::model::{self, FieldValue, Kind, Record, RecordKind};
use ehcard_core::{FieldError, RecordDoc};
use maud::{Markup, html};
use serde::Deserialize;

use self::history::{Author, ConflictView, Entry, Shown, Source};
use super::labels::{self, field_label, value_text};
use super::layout::{self, Lang, Nav};
use super::{Action, ConsoleError, Ctx, Route};
use crate::api::AppState;
use crate::store::StoreError;
use crate::store::console_records::{
    DeviceName, MAX_OFFSET, RecordData, ResidentRow, Resolution, Resolved, Search, SearchQuery,
};

pub const ROUTES: &[Route] = &[
    Route::get("/console/search", Action::View),
    Route::get("/console/records/{id}", Action::View),
    Route::post("/console/records/{id}/resolve", Action::ResolveConflict),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/search", get(search_page))
        .route("/records/{id}", get(record_page))
        .route("/records/{id}/resolve", post(resolve))
}

/// Results per page of a search.
const PAGE: u32 = 50;

// ---------------------------------------------------------------- search

/// What was typed in the search box, recognised.
pub fn classify(q: &str) -> Search {
    let t = q.trim();
    if t.is_empty() {
        return Search::Everyone;
    }
    let compact: String = t.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if compact.len() == 12 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Search::HealthId(compact);
    }
    if t.len() == 36
        && let Ok(u) = uuid::Uuid::parse_str(t)
    {
        return Search::RecordId(u.hyphenated().to_string());
    }
    if let Some(p) = model::normalise_phone(t) {
        return Search::Phone(p);
    }
    if compact.len() == 10 && compact.bytes().all(|b| b.is_ascii_digit()) {
        return Search::Phone(compact);
    }
    let letters = t.chars().any(|c| c.is_ascii_alphabetic());
    let digits = t.chars().any(|c| c.is_ascii_digit());
    if letters && digits && t.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Search::VoterId(t.to_ascii_uppercase());
    }
    if t.chars().any(|c| ('\u{0900}'..='\u{097F}').contains(&c)) {
        return Search::Devanagari(model::squash(t));
    }
    Search::Name(t.split_whitespace().map(str::to_lowercase).collect())
}

#[derive(Deserialize, Default)]
struct SearchParams {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    ward: Option<String>,
    #[serde(default)]
    page: Option<String>,
}

fn search_url(q: &str, ward: Option<i64>, page: u32) -> String {
    let mut url = format!("/console/search?q={}", layout::url_encode(q));
    if let Some(w) = ward {
        url.push_str(&format!("&ward={w}"));
    }
    if page > 1 {
        url.push_str(&format!("&page={page}"));
    }
    url
}

async fn search_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(p): Query<SearchParams>,
) -> Result<Response, ConsoleError> {
    let q = p.q.unwrap_or_default();
    let ward = match p.ward.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
        None => None,
        Some(w) => match w.parse::<i64>() {
            Ok(n) if (1..=250).contains(&n) => Some(n),
            _ => {
                return Err(ConsoleError::bad(
                    &ctx,
                    ctx.t("The ward must be a number from 1 to 250.", "वार्ड 1 से 250 तक की संख्या होनी चाहिए।"),
                ));
            }
        },
    };
    let page = match p.page.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => 1,
        Some(s) => match s.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(ConsoleError::bad(&ctx, ctx.t("That page number is not valid.", "यह पेज संख्या सही नहीं है।"))),
        },
    };
    let search = classify(&q);
    let mut message: Option<String> = None;
    match &search {
        Search::HealthId(h) => {
            match state.store.resolve_health_id(h).await.map_err(|e| ConsoleError::store(&ctx, e))? {
                Some((_, current)) => {
                    return Ok(Redirect::to(&format!("/console/records/{current}?hid={h}")).into_response());
                }
                None => {
                    message = Some(format!(
                        "{} {}",
                        ctx.t("No resident has the eHealth ID", "किसी निवासी की यह ई-हेल्थ आईडी नहीं है:"),
                        q.trim()
                    ))
                }
            }
        }
        Search::RecordId(id) => {
            if state.store.record(id).await.map_err(|e| ConsoleError::store(&ctx, e))?.is_some() {
                return Ok(Redirect::to(&format!("/console/records/{id}")).into_response());
            }
            message = Some(format!("{} {id}", ctx.t("There is no record", "यह रिकॉर्ड नहीं है:")));
        }
        _ => {}
    }
    let offset = (page - 1).saturating_mul(PAGE);
    let too_far = offset > MAX_OFFSET;
    let run = message.is_none() && !too_far && !(search == Search::Everyone && ward.is_none());
    let results = if run {
        Some(
            state
                .store
                .search_residents(SearchQuery { search: search.clone(), ward, offset, limit: PAGE })
                .await
                .map_err(|e| ConsoleError::store(&ctx, e))?,
        )
    } else {
        None
    };
    let body = html! {
        form.filters.search method="get" action="/console/search" role="search" {
            div.grow {
                label for="q" { (ctx.t("Find a resident", "निवासी खोजें")) }
                input #q type="search" name="q" value=(q) autofocus data-key="slash"
                    placeholder=(ctx.t("Name, eHealth ID, mobile, voter id", "नाम, ई-हेल्थ आईडी, मोबाइल, मतदाता आईडी"));
            }
            div {
                label for="ward" { (ctx.t("Ward", "वार्ड")) }
                input #ward.ward type="number" name="ward" min="1" max="250" value=[ward];
            }
            div { button.primary type="submit" { (ctx.t("Search", "खोजें")) } }
        }
        p.muted.hint {
            (ctx.t(
                "Type a name in English or Hindi (the start of a given or family name, or both: “Sunita Sha”), a 12-digit eHealth ID, a mobile number, a voter id or a record id.",
                "अंग्रेज़ी या हिंदी में नाम लिखें (पहले नाम या उपनाम की शुरुआत, या दोनों: “सुनीता श”), 12 अंकों की ई-हेल्थ आईडी, मोबाइल नंबर, मतदाता आईडी या रिकॉर्ड आईडी।",
            ))
        }
        @if let Some(m) = &message { p.warn role="status" { (m) } }
        @if too_far {
            p.warn role="status" {
                (ctx.t("Only the first 1,000 results are paged through. Add to the search (more of the name, or a ward) to find the rest.",
                       "केवल पहले 1,000 परिणाम दिखाए जाते हैं। बाकी के लिए खोज में और जोड़ें (नाम का और हिस्सा, या वार्ड)।"))
            }
        }
        @if let Some(r) = &results {
            @if r.rows.is_empty() {
                p.warn role="status" { (ctx.t("No resident matches this search.", "इस खोज से कोई निवासी नहीं मिला।")) }
            } @else {
                p.muted {
                    (ctx.t("Results", "परिणाम")) " " (layout::fmt_count(i64::from(offset) + 1)) "–"
                    (layout::fmt_count(i64::from(offset) + r.rows.len() as i64))
                }
                (resident_table(&ctx, &r.rows, None))
                nav.pager aria-label=(ctx.t("Pages", "पेज")) {
                    @if page > 1 { a.button href=(search_url(&q, ward, page - 1)) rel="prev" { "← " (ctx.t("Previous", "पिछला")) } }
                    span { (ctx.t("Page", "पेज")) " " (page) }
                    @if r.more && offset + PAGE <= MAX_OFFSET {
                        a.button href=(search_url(&q, ward, page + 1)) rel="next" { (ctx.t("Next", "अगला")) " →" }
                    }
                }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Search, ctx.t("Search", "खोजें"), body).into_response())
}

fn status_badge(ctx: &Ctx, status: Option<&str>, merged: bool) -> Markup {
    let class = match (merged, status) {
        (true, _) => "badge",
        (false, None | Some("verified")) => "badge ok",
        (false, Some("unverified")) => "badge warn",
        (false, Some("not_found")) => "badge bad",
        _ => "badge",
    };
    let text = if merged { ctx.t("Merged", "विलय हुआ") } else { labels::status_label(ctx.lang, status) };
    html! { span class=(class) { (text) } }
}

fn grouped_health_id(h: &str) -> String {
    if h.len() == 12 && h.is_ascii() { format!("{} {} {}", &h[0..4], &h[4..8], &h[8..12]) } else { h.to_string() }
}

fn row_name(r: &ResidentRow) -> String {
    [r.given_name.as_deref(), r.family_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ")
}

/// A table of residents, each linking to its record; `me` is marked.
fn resident_table(ctx: &Ctx, rows: &[ResidentRow], me: Option<&str>) -> Markup {
    html! {
        table.results {
            thead { tr {
                th { (ctx.t("Name", "नाम")) }
                th { (ctx.t("Name in Hindi", "हिंदी में नाम")) }
                th { (ctx.t("Sex", "लिंग")) }
                th.num { (ctx.t("Born", "जन्म")) }
                th.num { (ctx.t("Ward", "वार्ड")) }
                th { (ctx.t("Household / address", "परिवार / पता")) }
                th { (ctx.t("Status", "स्थिति")) }
                th { (ctx.t("eHealth ID", "ई-हेल्थ आईडी")) }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td {
                            a href=(format!("/console/records/{}", r.id)) {
                                @let n = row_name(r);
                                @if n.is_empty() { (ctx.t("(no name)", "(नाम नहीं)")) } @else { (n) }
                            }
                            @if me == Some(r.id.as_str()) { " " span.badge { (ctx.t("this record", "यह रिकॉर्ड")) } }
                        }
                        td lang="hi" { (r.name_hi.as_deref().unwrap_or("")) }
                        td { (r.sex.as_deref().map(|s| labels::sex_label(ctx.lang, s)).unwrap_or_default()) }
                        td.num { @if let Some(y) = r.birth_year { (y) } }
                        td.num { (r.ward) }
                        td { (r.address.as_deref().unwrap_or("—")) }
                        td {
                            (status_badge(ctx, r.status.as_deref(), r.merged_into.is_some()))
                            @if r.has_conflicts { " " span.badge.bad { (ctx.t("Conflicts", "विरोधी मान")) } }
                            @if let Some(m) = &r.merged_into {
                                " " a.small href=(format!("/console/records/{m}")) { (ctx.t("→ survivor", "→ मुख्य रिकॉर्ड")) }
                            }
                        }
                        td.hid { (r.health_id.as_deref().map(grouped_health_id).unwrap_or_default()) }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- labels

fn shown_text(lang: Lang, path: &str, s: &Option<Shown>) -> String {
    match s {
        None => "—".into(),
        Some(Shown::One(v)) => value_text(lang, path, v),
        Some(Shown::Conflict(vs)) => {
            format!(
                "{} ({})",
                vs.iter().map(|v| value_text(lang, path, v)).collect::<Vec<_>>().join(" | "),
                lang.t("in conflict", "विरोधी मान")
            )
        }
    }
}

fn source_text(lang: Lang, s: &Source, devices: &HashMap<&str, &DeviceName>) -> String {
    match s {
        Source::Tablet(id) => match devices.get(id.as_str()) {
            Some(d) => format!("{} ({} {})", d.label, lang.t("tablet no.", "टैबलेट सं."), d.number),
            None => format!("{} {id}", lang.t("tablet", "टैबलेट")),
        },
        Source::Roll => lang.t("Electoral roll import", "मतदाता सूची आयात").into(),
        Source::Merge => lang.t("Registry: merge of duplicates", "रजिस्ट्री: डुप्लिकेट का विलय").into(),
        Source::Console => lang.t("Registry console", "रजिस्ट्री कंसोल").into(),
        Source::Registry => lang.t("Registry", "रजिस्ट्री").into(),
    }
}

// ---------------------------------------------------------------- record

fn valid_id(ctx: &Ctx, id: &str) -> Result<String, ConsoleError> {
    match uuid::Uuid::parse_str(id.trim()) {
        Ok(u) if id.trim().len() == 36 => Ok(u.hyphenated().to_string()),
        _ => Err(ConsoleError::bad(
            &ctx.clone(),
            format!(
                "{} {}",
                ctx.t("This is not a record id:", "यह रिकॉर्ड आईडी नहीं है:"),
                id.chars().take(60).collect::<String>()
            ),
        )),
    }
}

#[derive(Deserialize, Default)]
struct RecordParams {
    /// Landed here from a search for this eHealth ID.
    #[serde(default)]
    hid: Option<String>,
    /// A field just settled.
    #[serde(default)]
    resolved: Option<String>,
}

async fn record_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(p): Query<RecordParams>,
) -> Result<Markup, ConsoleError> {
    let id = valid_id(&ctx, &id)?;
    let mut notices = Vec::new();
    if let Some(f) = p.resolved.as_deref().filter(|f| model::spec_kind(f).is_some()) {
        notices.push(html! {
            (layout::notice(&format!("{} {}. {}", ctx.t("Conflict settled:", "विरोध सुलझाया गया:"), field_label(ctx.lang, f),
                ctx.t("Tablets of the ward receive the value at their next sync.", "वार्ड के टैबलेट अगली सिंक पर यह मान पा लेंगे।"))))
        });
    }
    // Only an eHealth ID that really leads here is named on the page.
    let mut hid = None;
    if let Some(h) = p.hid.as_deref().filter(|h| h.len() == 12 && h.bytes().all(|b| b.is_ascii_digit()))
        && let Some((_, current)) = state.store.resolve_health_id(h).await.map_err(|e| ConsoleError::store(&ctx, e))?
        && current == id
    {
        hid = Some(h.to_string());
    }
    render_record(&state, &ctx, &id, hid.as_deref(), notices, None).await
}

/// The record's page; `hid`: landed here from a search for that eHealth ID.
async fn render_record(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    hid: Option<&str>,
    notices: Vec<Markup>,
    form_error: Option<FormError>,
) -> Result<Markup, ConsoleError> {
    let data = state.store.record_data(id).await.map_err(|e| ConsoleError::store(ctx, e))?.ok_or_else(|| {
        ConsoleError::not_found(ctx, format!("{} {id}", ctx.t("There is no record", "यह रिकॉर्ड नहीं है:")))
    })?;
    let record = RecordDoc::load(&data.doc, &crate::store::server_actor()).and_then(|d| d.read()).map_err(|e| {
        ConsoleError::Store(StoreError::Corrupt { id: id.to_string(), message: e.to_string() }, ctx.lang)
    })?;
    let (entries, actors) = tokio::task::block_in_place(|| history::history(&data.doc, &data.feed, data.truncated))
        .map_err(|e| ConsoleError::Store(StoreError::Corrupt { id: id.to_string(), message: e }, ctx.lang))?;
    let conflicts = history::conflicts(&data.doc, &record.conflicts, &actors);
    let devices: HashMap<&str, &DeviceName> = data.devices.iter().map(|d| (d.id.as_str(), d)).collect();
    let title = match record.meta.kind {
        RecordKind::Resident => {
            let n = record.display_name();
            if n.trim().is_empty() { ctx.t("Resident", "निवासी").to_string() } else { n }
        }
        RecordKind::Household => ctx.t("Household", "परिवार").to_string(),
    };
    let body = html! {
        @for n in &notices { (n) }
        @if let Some(h) = hid {
            @if record.meta.health_id.map(|x| x.compact()) != Some(h.to_string()) {
                p.notice role="status" {
                    (ctx.t("The eHealth ID", "ई-हेल्थ आईडी")) " " (grouped_health_id(h)) " "
                    (ctx.t("belonged to a record merged into this one; cards printed with it lead here.",
                           "एक ऐसे रिकॉर्ड की थी जिसका इसमें विलय हुआ; उससे छपे कार्ड यहीं पहुँचते हैं।"))
                }
            }
        }
        (summary(ctx, &record, &data))
        @if !conflicts.is_empty() {
            (conflict_section(ctx, &data, &conflicts, &devices, form_error.as_ref()))
        }
        div.record-cols {
            section.values aria-labelledby="values-h" {
                h2 #values-h { (ctx.t("Current values", "मौजूदा मान")) }
                (values_table(ctx, &record))
            }
            div {
                @if record.meta.kind == RecordKind::Resident { (card_section(ctx, &record, &data)) }
                (household_section(ctx, &record, &data))
            }
        }
        (history_section(ctx, &entries, &devices, data.truncated))
    };
    Ok(layout::page(ctx, Nav::Search, &title, body))
}

fn summary(ctx: &Ctx, record: &Record, data: &RecordData) -> Markup {
    let f = &record.fields;
    let merged_into = f.text("merged_into");
    html! {
        div.record-head {
            @if let Some(n) = f.text("name_hi") { p.name-hi lang="hi" { (n) } }
            p {
                @if record.meta.kind == RecordKind::Resident {
                    (status_badge(ctx, f.text("status"), merged_into.is_some())) " "
                }
                @if !record.conflicts.is_empty() {
                    span.badge.bad { (ctx.t("Fields in conflict:", "विरोधी मान वाले फ़ील्ड:")) " " (layout::fmt_count(record.conflicts.len() as i64)) } " "
                }
                span.muted {
                    (ctx.t("eHealth ID", "ई-हेल्थ आईडी")) ": "
                    strong.hid { (record.meta.health_id.map(|h| h.to_string()).unwrap_or_else(|| "—".into())) }
                    " · " (ctx.t("Record", "रिकॉर्ड")) " " code { (record.meta.id.to_string()) }
                    " · " (ctx.t("Ward", "वार्ड")) " " (f.int("address.ward").map(|w| w.to_string()).unwrap_or_default())
                }
            }
            p.muted {
                (ctx.t("Enrolled by", "नामांकन:")) " " (record.meta.enrolled_by)
                @if let Some(d) = &record.meta.enrolled_device {
                    " · " (ctx.t("tablet no.", "टैबलेट सं.")) " " (d)
                    @if let Some(dev) = data.devices.iter().find(|x| d.trim().parse::<u32>().ok() == Some(x.number)) { " (" (dev.label) ")" }
                }
                " · " (layout::fmt_time(record.meta.enrolled_at.timestamp()))
                " · " (ctx.t("last changed", "अंतिम बदलाव")) " " (layout::fmt_time(record.meta.updated_at.timestamp()))
            }
            @if let Some(m) = merged_into {
                p.warn role="status" {
                    (ctx.t("This record was merged into another record; that one is the resident's record now.",
                           "इस रिकॉर्ड का दूसरे रिकॉर्ड में विलय हो चुका है; अब वही इस निवासी का रिकॉर्ड है।")) " "
                    a href=(format!("/console/records/{m}")) {
                        (ctx.t("Open the surviving record", "मुख्य रिकॉर्ड खोलें"))
                        @if let Some(s) = &data.merged_into { " (" (row_name(s)) ")" }
                    }
                }
            }
            @if !data.merged_from.is_empty() {
                p.muted {
                    (ctx.t("Merged into this record:", "इस रिकॉर्ड में विलय हुए:")) " "
                    @for (i, r) in data.merged_from.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(format!("/console/records/{}", r.id)) { (row_name(r)) }
                        @if let Some(h) = &r.health_id { " (" (grouped_health_id(h)) ")" }
                    }
                }
            }
        }
    }
}

fn values_table(ctx: &Ctx, record: &Record) -> Markup {
    let kind = record.meta.kind;
    html! {
        table.fields {
            tbody {
                @for spec in kind.fields() {
                    @let conflict = record.conflicts.iter().find(|c| c.field == spec.path);
                    @if let Some(v) = record.fields.get(spec.path) {
                        tr class=[conflict.map(|_| "conflicted")] {
                            th scope="row" { (field_label(ctx.lang, spec.path)) }
                            td {
                                @if spec.path == "household_id" || spec.path == "merged_into" || spec.path == "head_id" {
                                    @if let Some(t) = v.as_text() { a href=(format!("/console/records/{t}")) { (t) } }
                                } @else if let FieldValue::Set(items) = v {
                                    @for (i, item) in items.values().enumerate() { @if i > 0 { ", " } (item) }
                                } @else {
                                    (value_text(ctx.lang, spec.path, &v.to_json()))
                                }
                                @if conflict.is_some() { " " span.badge.bad { (ctx.t("in conflict", "विरोधी मान")) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn card_section(ctx: &Ctx, record: &Record, data: &RecordData) -> Markup {
    let card = ehcard_card::payload::CardData::from_record(record);
    let merged = record.fields.text("merged_into").is_some();
    html! {
        section.card-status aria-labelledby="card-h" {
            h2 #card-h { (ctx.t("Card", "कार्ड")) }
            @if merged {
                p { (ctx.t("No card: this record was merged into another; its card is that record's.",
                           "कार्ड नहीं: इस रिकॉर्ड का विलय हो चुका है; कार्ड मुख्य रिकॉर्ड का है।")) }
            } @else if card.is_err() {
                p.warn { (ctx.t("No card can be made yet: the record has no eHealth ID.",
                                "अभी कार्ड नहीं बन सकता: रिकॉर्ड की ई-हेल्थ आईडी नहीं है।")) }
            } @else {
                @match &data.approval {
                    Some(a) => {
                        p {
                            span.badge.ok { (ctx.t("Approved for a permanent card", "स्थायी कार्ड के लिए स्वीकृत")) }
                        }
                        p.muted {
                            (ctx.t("by", "द्वारा")) " " (a.approved_by) ", " (layout::fmt_time(a.approved_at))
                        }
                        @if let Some(t) = a.printed_at {
                            p { (ctx.t("Printed", "छपा")) " " (layout::fmt_count(a.print_count)) "× · "
                                (ctx.t("last", "अंतिम")) " " (layout::fmt_time(t))
                                @if let Some(b) = &a.printed_by { " " (ctx.t("by", "द्वारा")) " " (b) } }
                        } @else {
                            p.muted { (ctx.t("Not printed yet.", "अभी छपा नहीं।")) }
                        }
                    }
                    None => {
                        p { span.badge { (ctx.t("Not approved yet", "अभी स्वीकृत नहीं")) } }
                        p.muted {
                            @if record.conflicts.is_empty() {
                                (ctx.t("A reviewer can approve it for a permanent card.", "समीक्षक इसे स्थायी कार्ड के लिए स्वीकृत कर सकते हैं।"))
                            } @else {
                                (ctx.t("Settle the conflicts before it is approved for a permanent card.",
                                       "स्थायी कार्ड की स्वीकृति से पहले विरोधी मान सुलझाएँ।"))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn household_section(ctx: &Ctx, record: &Record, data: &RecordData) -> Markup {
    let me = record.meta.id.to_string();
    html! {
        @if data.household.is_some() || !data.members.is_empty() {
            section.household aria-labelledby="hh-h" {
                h2 #hh-h { (ctx.t("Household", "परिवार")) }
                @if let Some(h) = &data.household {
                    p {
                        @if record.meta.kind == RecordKind::Resident {
                            a href=(format!("/console/records/{}", h.id)) { (h.address().unwrap_or_else(|| ctx.t("(no address)", "(पता नहीं)").into())) }
                        } @else {
                            (h.address().unwrap_or_else(|| ctx.t("(no address)", "(पता नहीं)").into()))
                        }
                        " · " (ctx.t("Ward", "वार्ड")) " " (h.ward)
                        " · " (ctx.t("Members:", "सदस्य:")) " " (layout::fmt_count(h.members))
                    }
                }
                @if !data.members.is_empty() {
                    ul.members {
                        @for m in &data.members {
                            li {
                                @if m.id == me { strong { (row_name(m)) } " " span.badge { (ctx.t("this record", "यह रिकॉर्ड")) } }
                                @else { a href=(format!("/console/records/{}", m.id)) { (row_name(m)) } }
                                @if let Some(n) = &m.name_hi { " · " span lang="hi" { (n) } }
                                @if let Some(y) = m.birth_year { " · " (y) }
                                @if data.household.as_ref().and_then(|h| h.head_id.as_deref()) == Some(m.id.as_str()) {
                                    " " span.badge { (ctx.t("head", "मुखिया")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn author_line(ctx: &Ctx, a: &Author, devices: &HashMap<&str, &DeviceName>) -> Markup {
    html! {
        li {
            @if let Some(w) = &a.worker { strong { (w) } " · " }
            (source_text(ctx.lang, &a.source, devices))
            @if let Some(t) = a.at { " · " (layout::fmt_time(t)) }
        }
    }
}

fn conflict_section(
    ctx: &Ctx,
    data: &RecordData,
    conflicts: &[ConflictView],
    devices: &HashMap<&str, &DeviceName>,
    form_error: Option<&FormError>,
) -> Markup {
    let heads = data.heads.join(",");
    let can = ctx.can(Action::ResolveConflict);
    html! {
        section.conflicts aria-labelledby="conflicts-h" {
            h2 #conflicts-h { (ctx.t("Field conflicts", "फ़ील्ड के विरोधी मान")) }
            p.muted {
                (ctx.t("Tablets entered different values for these fields. Every value is kept until someone picks one.",
                       "टैबलेटों ने इन फ़ील्ड में अलग-अलग मान दर्ज किए। कोई एक चुने जाने तक सभी मान रखे जाते हैं।"))
            }
            @for (i, c) in conflicts.iter().enumerate() {
                @let fid = format!("c{i}");
                div.conflict id=(format!("conflict-{}", c.field.replace('.', "-"))) {
                    h3 { (field_label(ctx.lang, &c.field)) }
                    @if let Some(e) = form_error && e.field == c.field {
                        p.error role="alert" { (e.message) }
                    }
                    @if can {
                        form method="post" action=(format!("/console/records/{}/resolve", data.id)) {
                            (layout::csrf_field(ctx))
                            input type="hidden" name="heads" value=(heads);
                            input type="hidden" name="field" value=(c.field);
                            fieldset {
                                legend { (ctx.t("Which value is right?", "कौन-सा मान सही है?")) }
                                @for (j, (v, authors)) in c.values.iter().enumerate() {
                                    div.choice {
                                        input type="radio" name="choice" id=(format!("{fid}-{j}")) value=(v.to_string()) required;
                                        label for=(format!("{fid}-{j}")) {
                                            span.value { (value_text(ctx.lang, &c.field, v)) }
                                            ul.authors { @for a in authors { (author_line(ctx, a, devices)) } }
                                        }
                                    }
                                }
                                div.choice.other {
                                    input type="radio" name="choice" id=(format!("{fid}-other")) value="other";
                                    label for=(format!("{fid}-other")) { span.value { (ctx.t("Another value:", "दूसरा मान:")) } }
                                    input.other type="text" name="other" aria-label=(ctx.t("Another value", "दूसरा मान"))
                                        value=[form_error.filter(|e| e.field == c.field).and_then(|e| e.typed.as_deref())];
                                }
                            }
                            button.primary type="submit" { (ctx.t("Keep this value", "यह मान रखें")) }
                        }
                    } @else {
                        ul.values {
                            @for (v, authors) in &c.values {
                                li {
                                    span.value { (value_text(ctx.lang, &c.field, v)) }
                                    ul.authors { @for a in authors { (author_line(ctx, a, devices)) } }
                                }
                            }
                        }
                        p.muted { (ctx.t("A reviewer settles conflicts.", "विरोधी मान समीक्षक सुलझाते हैं।")) }
                    }
                }
            }
        }
    }
}

fn history_section(ctx: &Ctx, entries: &[Entry], devices: &HashMap<&str, &DeviceName>, truncated: bool) -> Markup {
    html! {
        section.history aria-labelledby="history-h" {
            h2 #history-h { (ctx.t("History", "इतिहास")) }
            @if truncated {
                p.muted { (ctx.t("The latest 200 changes are shown.", "नवीनतम 200 बदलाव दिखाए गए हैं।")) }
            }
            table.history {
                thead { tr {
                    th { (ctx.t("When (IST)", "कब (IST)")) }
                    th { (ctx.t("From", "कहाँ से")) }
                    th { (ctx.t("Who", "किसने")) }
                    th { (ctx.t("What changed", "क्या बदला")) }
                } }
                tbody {
                    @for e in entries.iter().rev() {
                        tr id=(format!("feed-{}", e.seq)) {
                            td.when { (layout::fmt_time(e.at)) }
                            td { (source_text(ctx.lang, &e.source, devices)) }
                            td { (e.workers.join(", ")) }
                            td {
                                @if e.created {
                                    (ctx.t("Record created", "रिकॉर्ड बना"))
                                } @else if e.changes.is_empty() {
                                    span.muted { (ctx.t("No visible change (already known)", "कोई दिखने वाला बदलाव नहीं")) }
                                } @else {
                                    ul.changes {
                                        @for c in &e.changes {
                                            li {
                                                strong { (field_label(ctx.lang, &c.path)) } ": "
                                                span.old { (shown_text(ctx.lang, &c.path, &c.before)) }
                                                " → "
                                                span.new { (shown_text(ctx.lang, &c.path, &c.after)) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- resolve

/// Why a resolution was not accepted, shown at its field's form.
struct FormError {
    field: String,
    message: String,
    /// What was typed as another value (shown again to correct it).
    typed: Option<String>,
}

#[derive(Deserialize, Default)]
struct ResolveForm {
    #[serde(default)]
    heads: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    choice: Option<String>,
    #[serde(default)]
    other: Option<String>,
}

fn field_error_text(lang: Lang, e: &FieldError) -> String {
    format!("{}: {}", field_label(lang, &e.field), e.rule.message(core_lang(lang)))
}

fn core_lang(lang: Lang) -> ehcard_core::Lang {
    match lang {
        Lang::En => ehcard_core::Lang::En,
        Lang::Hi => ehcard_core::Lang::Hi,
    }
}

/// The value a form names, checked by the same rules as a tablet's edit;
/// an error in the staff member's language.
fn chosen_value(ctx: &Ctx, spec: &model::FieldSpec, f: &ResolveForm) -> Result<serde_json::Value, String> {
    let today = chrono::DateTime::from_timestamp(ctx.now, 0).unwrap_or_default().date_naive();
    let label = field_label(ctx.lang, spec.path);
    let rule_error = |rule: ehcard_core::Rule| format!("{label}: {}", rule.message(core_lang(ctx.lang)));
    match f.choice.as_deref() {
        None | Some("") => Err(ctx
            .t(
                "Pick one of the values, or choose “Another value” and type it.",
                "कोई एक मान चुनें, या “दूसरा मान” चुनकर उसे लिखें।",
            )
            .into()),
        Some("other") => {
            let raw = f.other.as_deref().unwrap_or("");
            if matches!(spec.kind, Kind::Set { .. }) {
                return Err(rule_error(ehcard_core::Rule::NotSettable));
            }
            match model::parse_text_value(spec, raw, today) {
                Ok(Some(v)) => Ok(v.to_json()),
                Ok(None) => Err(format!(
                    "{label}: {}",
                    ctx.t("type the value in the box next to “Another value”.", "“दूसरा मान” के सामने वाले खाने में मान लिखें।")
                )),
                Err(rule) => Err(rule_error(rule)),
            }
        }
        Some(json) => {
            let v: serde_json::Value = serde_json::from_str(json).map_err(|_| {
                ctx.t(
                    "That choice is not one of the values shown. Reload the page and choose again.",
                    "यह चुनाव दिखाए गए मानों में से नहीं है। पेज फिर से लोड करें और दोबारा चुनें।",
                )
                .to_string()
            })?;
            model::parse_json_value(spec, &v, today).map(|v| v.to_json()).map_err(rule_error)
        }
    }
}

async fn resolve(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(f): Form<ResolveForm>,
) -> Result<Response, ConsoleError> {
    let id = valid_id(&ctx, &id)?;
    let (doc, _, _) = state.store.record(&id).await.map_err(|e| ConsoleError::store(&ctx, e))?.ok_or_else(|| {
        ConsoleError::not_found(&ctx, format!("{} {id}", ctx.t("There is no record", "यह रिकॉर्ड नहीं है:")))
    })?;
    let record = RecordDoc::load(&doc, &crate::store::server_actor())
        .and_then(|d| d.read())
        .map_err(|e| ConsoleError::Store(StoreError::Corrupt { id: id.clone(), message: e.to_string() }, ctx.lang))?;
    let Some(spec) = model::spec(record.meta.kind, f.field.trim()) else {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t(
                "The form did not name a field of this record. Go back, reload the page and try again.",
                "फ़ॉर्म में इस रिकॉर्ड का फ़ील्ड नहीं था। वापस जाएँ, पेज फिर से लोड करें और दोबारा कोशिश करें।",
            ),
        ));
    };
    let heads: Vec<String> = f.heads.split(',').map(str::trim).filter(|h| !h.is_empty()).map(str::to_string).collect();
    let typed = (f.choice.as_deref() == Some("other")).then(|| f.other.clone().unwrap_or_default());
    let refused = |message: String| FormError { field: spec.path.to_string(), message, typed: typed.clone() };
    let not_accepted = html! { p.error role="alert" {
        (ctx.t("Nothing was changed: the value was not accepted (see the field below).",
               "कुछ नहीं बदला: मान स्वीकार नहीं हुआ (नीचे फ़ील्ड देखें)।"))
    } };
    let again = |status: StatusCode, notice: Markup, error: Option<FormError>| {
        let (state, ctx, id) = (state.clone(), ctx.clone(), id.clone());
        async move {
            let page = render_record(&state, &ctx, &id, None, vec![notice], error).await?;
            Ok::<Response, ConsoleError>((status, page).into_response())
        }
    };
    let value = match chosen_value(&ctx, spec, &f) {
        Ok(v) => v,
        Err(msg) => return again(StatusCode::UNPROCESSABLE_ENTITY, not_accepted, Some(refused(msg))).await,
    };
    let outcome = state
        .store
        .resolve_conflict(Resolution {
            id: id.clone(),
            heads,
            field: spec.path.to_string(),
            value: value.clone(),
            by: ctx.staff.name.clone(),
            now: ctx.now,
        })
        .await;
    match outcome {
        Ok(Resolved::Done(_)) => {
            Ok(Redirect::to(&format!("/console/records/{id}?resolved={}", layout::url_encode(spec.path)))
                .into_response())
        }
        Ok(Resolved::Stale) => {
            let notice = html! { p.warn role="alert" {
                (ctx.t("This record changed while you were looking at it (a tablet synced, or another reviewer settled it). Nothing was changed. Here it is as it is now: check the values and choose again.",
                       "आपके देखते समय यह रिकॉर्ड बदल गया (किसी टैबलेट ने सिंक किया, या किसी और समीक्षक ने सुलझाया)। कुछ नहीं बदला। यह अब जैसा है वैसा दिखाया गया है: मान जाँचें और फिर चुनें।"))
            } };
            again(StatusCode::CONFLICT, notice, None).await
        }
        Ok(Resolved::NotInConflict) => {
            let notice = html! { p.warn role="alert" {
                (field_label(ctx.lang, spec.path)) ": "
                (ctx.t("this field is not in conflict (any more). Nothing was changed.", "इस फ़ील्ड में (अब) विरोधी मान नहीं हैं। कुछ नहीं बदला।"))
            } };
            again(StatusCode::CONFLICT, notice, None).await
        }
        Err(StoreError::Invalid { errors, .. }) => {
            let msg = errors.iter().map(|e| field_error_text(ctx.lang, e)).collect::<Vec<_>>().join("; ");
            let msg = format!(
                "{} {msg}",
                ctx.t("With this value the record would not be valid:", "इस मान से रिकॉर्ड मान्य नहीं रहेगा:")
            );
            again(StatusCode::UNPROCESSABLE_ENTITY, not_accepted, Some(refused(msg))).await
        }
        Err(e) => Err(ConsoleError::store(&ctx, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_box_recognises_what_was_typed() {
        assert_eq!(classify("  "), Search::Everyone);
        assert_eq!(classify("0004 2000 0014"), Search::HealthId("000420000014".into()));
        assert_eq!(classify("0004-2000-0014"), Search::HealthId("000420000014".into()));
        assert_eq!(
            classify("01A0C450-6C00-7699-B7CA-AD8D6837074F"),
            Search::RecordId("01a0c450-6c00-7699-b7ca-ad8d6837074f".into())
        );
        assert_eq!(classify("98111 00002"), Search::Phone("9811100002".into()));
        assert_eq!(classify("+91 98111 00002"), Search::Phone("9811100002".into()));
        assert_eq!(classify("dlx1234567"), Search::VoterId("DLX1234567".into()));
        assert_eq!(classify("सुनीता"), Search::Devanagari("सुनीता".into()));
        assert_eq!(classify("Sunita  SHA"), Search::Name(vec!["sunita".into(), "sha".into()]));
        assert_eq!(classify("Robert'); DROP"), Search::Name(vec!["robert');".into(), "drop".into()]));
    }

    #[test]
    fn every_field_has_a_label_in_both_languages() {
        for kind in [RecordKind::Resident, RecordKind::Household] {
            for spec in kind.fields() {
                assert_ne!(field_label(Lang::En, spec.path), spec.path, "{}", spec.path);
                assert_ne!(field_label(Lang::Hi, spec.path), spec.path, "{}", spec.path);
            }
        }
    }
}
