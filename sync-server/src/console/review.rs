//! Review pages: the duplicate queue (a pair side by side, merge with a
//! choice of survivor and of each disagreeing value, or "different
//! people", with keyboard shortcuts), recent merges and their undo, and
//! card approval with batch printing of permanent cards (A4 PDF signed by
//! the registry key).
//!
//! Every decision is a POST checked again in the store's transaction: a
//! pair someone else decided meanwhile, or a record merged away, is refused
//! with a message and nothing changes.

use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use ehcard_core::model::RESIDENT_FIELDS;
use ehcard_core::{HealthId, Record, RecordId};
use ehcard_match::ReasonCode;
use maud::{Markup, html};
use serde::Deserialize;

use super::labels::{field_label, status_label, value_text};
use super::layout::{self, Lang, Nav, fmt_count, fmt_time};
use super::{Action, ConsoleError, Ctx, Route};
use crate::api::AppState;
use crate::dedup::{self, Keep};
use crate::store::console_review::{
    ApprovalRow, ApprovalTab, Brief, COUNT_CAP, MAX_PRINT, PairRefusal, Refusal, card_readiness,
};

pub const ROUTES: &[Route] = &[
    Route::get("/console/duplicates", Action::View),
    Route::get("/console/duplicates/{a}/{b}", Action::View),
    Route::post("/console/duplicates/{a}/{b}/merge", Action::ResolveDuplicate),
    Route::post("/console/duplicates/{a}/{b}/not-duplicate", Action::ResolveDuplicate),
    Route::get("/console/merges", Action::View),
    Route::post("/console/merges/{duplicate}/undo", Action::UndoMerge),
    Route::get("/console/approvals", Action::View),
    Route::post("/console/approvals/approve", Action::Approve),
    Route::post("/console/approvals/print", Action::Approve),
    Route::post("/console/approvals/{id}/revoke", Action::Approve),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/duplicates", get(queue_page))
        .route("/duplicates/{a}/{b}", get(pair_page))
        .route("/duplicates/{a}/{b}/merge", post(merge))
        .route("/duplicates/{a}/{b}/not-duplicate", post(not_duplicate))
        .route("/merges", get(merges_page))
        .route("/merges/{duplicate}/undo", post(undo))
        .route("/approvals", get(approvals_page))
        .route("/approvals/approve", post(approve))
        .route("/approvals/print", post(print))
        .route("/approvals/{id}/revoke", post(revoke))
}

/// Rows on a page of the queue, the merges and the approval lists.
const PAGE: u32 = 50;
/// The deepest page of an offset-paged list.
const MAX_OFFSET: u32 = 20_000;
/// Records approved in one go.
const MAX_APPROVE: usize = 200;

// ---------------------------------------------------------------- helpers

fn record_id(ctx: &Ctx, s: &str) -> Result<String, ConsoleError> {
    s.trim().parse::<RecordId>().map(|id| id.to_string()).map_err(|_| {
        ConsoleError::bad(
            ctx,
            format!(
                "{} {s:?}. {}",
                ctx.t("This is not a record id:", "यह रिकॉर्ड आईडी नहीं है:"),
                ctx.t("Open the record from a list instead.", "रिकॉर्ड को किसी सूची से खोलें।")
            ),
        )
    })
}

fn ward_param(ctx: &Ctx, s: Option<&str>) -> Result<Option<i64>, ConsoleError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(w) if (1..=250).contains(&w) => Ok(Some(w)),
            _ => Err(ConsoleError::bad(
                ctx,
                format!(
                    "{} {s:?}",
                    ctx.t("A ward is a number from 1 to 250, not", "वार्ड 1 से 250 तक की संख्या है, यह नहीं:")
                ),
            )),
        },
    }
}

fn page_param(ctx: &Ctx, s: Option<&str>) -> Result<u32, ConsoleError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(1),
        Some(s) => match s.parse::<u32>() {
            Ok(p) if p >= 1 && (p - 1).saturating_mul(PAGE) <= MAX_OFFSET => Ok(p),
            _ => Err(ConsoleError::bad(
                ctx,
                format!(
                    "{} {s:?}. {}",
                    ctx.t("There is no such page:", "ऐसा कोई पेज नहीं है:"),
                    ctx.t("Narrow the list with the ward filter.", "वार्ड फ़िल्टर से सूची छोटी करें।")
                ),
            )),
        },
    }
}

fn store_err(ctx: &Ctx) -> impl Fn(crate::store::StoreError) -> ConsoleError + '_ {
    move |e| ConsoleError::store(ctx, e)
}

/// A capped count: "10,000+" past the cap.
fn count_text(n: i64) -> String {
    if n > COUNT_CAP { format!("{}+", fmt_count(COUNT_CAP)) } else { fmt_count(n) }
}

fn health_text(h: Option<&str>) -> String {
    match h {
        Some(h) => h.parse::<HealthId>().map(|x| x.to_string()).unwrap_or_else(|_| h.to_string()),
        None => "—".into(),
    }
}

fn ward_suffix(ward: Option<i64>) -> String {
    ward.map(|w| format!("ward={w}")).unwrap_or_default()
}

fn with_query(path: &str, parts: &[String]) -> String {
    let q: Vec<&str> = parts.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
    if q.is_empty() { path.to_string() } else { format!("{path}?{}", q.join("&")) }
}

fn pair_status_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "pending" => lang.t("waiting for a decision", "निर्णय की प्रतीक्षा में"),
        "merged" => lang.t("merged", "मिला दिए गए"),
        "not_duplicate" => lang.t("marked as different people", "अलग-अलग व्यक्ति माने गए"),
        "superseded" => lang.t(
            "set aside (one of them was merged into a third record)",
            "अलग रखा गया (इनमें से एक किसी तीसरे रिकॉर्ड में मिलाया गया)",
        ),
        _ => lang.t("decided", "तय"),
    }
}

fn reason_label(lang: Lang, c: ReasonCode) -> &'static str {
    use ReasonCode::*;
    match c {
        SameVoterId => lang.t("Same voter ID", "एक ही मतदाता पहचान-पत्र"),
        SimilarName => lang.t("Similar name", "मिलता-जुलता नाम"),
        SameBirthYear => lang.t("Same or close year of birth", "एक ही या करीबी जन्म वर्ष"),
        SameDateOfBirth => lang.t("Same date of birth", "एक ही जन्म तिथि"),
        SamePhone => lang.t("Same phone number", "एक ही फ़ोन नंबर"),
        SameHouseholdAndRelation => lang.t("Same household and relation", "एक ही परिवार और संबंध"),
        SimilarRelativeName => lang.t("Similar relative's name", "संबंधी का मिलता-जुलता नाम"),
        SameWard => lang.t("Same ward", "एक ही वार्ड"),
        DifferentVoterId => lang.t("Different voter IDs (against)", "अलग-अलग मतदाता पहचान-पत्र (विरोध में)"),
        DifferentDateOfBirth => lang.t("Different dates of birth (against)", "अलग-अलग जन्म तिथि (विरोध में)"),
        DifferentRelativeName => lang.t("Different relatives' names (against)", "संबंधी के अलग-अलग नाम (विरोध में)"),
    }
}

fn against(c: ReasonCode) -> bool {
    matches!(c, ReasonCode::DifferentVoterId | ReasonCode::DifferentDateOfBirth | ReasonCode::DifferentRelativeName)
}

/// The evidence of a reason: the matcher's detail after its label.
fn reason_evidence(detail: &str) -> &str {
    detail.split_once(": ").map(|(_, v)| v).unwrap_or("")
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn brief_cell(lang: Lang, b: Option<&Brief>) -> Markup {
    html! {
        @match b {
            Some(b) => {
                a href=(format!("/console/records/{}", b.id)) { (b.name()) }
                @if let Some(hi) = &b.name_hi { br; span lang="hi" { (hi) } }
                br;
                span.muted.small { (lang.t("Ward", "वार्ड")) " " (b.ward) " · " (health_text(b.health_id.as_deref())) }
            }
            None => span.muted { (lang.t("(record missing)", "(रिकॉर्ड नहीं मिला)")) }
        }
    }
}

/// Load a stored record.
async fn load(state: &AppState, ctx: &Ctx, id: &str) -> Result<(Vec<u8>, Record), ConsoleError> {
    let (doc, _, _) = state.store.record(id).await.map_err(store_err(ctx))?.ok_or_else(|| {
        ConsoleError::not_found(ctx, format!("{} {id}", ctx.t("There is no record", "यह रिकॉर्ड नहीं है:")))
    })?;
    let record =
        ehcard_core::RecordDoc::load(&doc, &crate::store::server_actor()).and_then(|d| d.read()).map_err(|e| {
            ConsoleError::store(ctx, crate::store::StoreError::Corrupt { id: id.into(), message: e.to_string() })
        })?;
    Ok((doc, record))
}

async fn name_of(state: &AppState, id: &str) -> String {
    match state.store.record(id).await {
        Ok(Some((doc, _, _))) => ehcard_core::RecordDoc::load(&doc, &crate::store::server_actor())
            .and_then(|d| d.read())
            .map(|r| r.display_name())
            .unwrap_or_else(|_| id.to_string()),
        _ => id.to_string(),
    }
}

fn wake_matcher(state: &AppState) {
    if let Some(m) = &state.matcher {
        m.notify_one();
    }
}

fn refusal_text(ctx: &Ctx, r: &PairRefusal) -> String {
    match r {
        PairRefusal::NoPair => ctx
            .t(
                "These two records are not a candidate pair, so nothing was changed.",
                "ये दोनों रिकॉर्ड संभावित डुप्लिकेट जोड़ी नहीं हैं, इसलिए कुछ नहीं बदला।",
            )
            .into(),
        PairRefusal::Decided { status, by, at } => format!(
            "{} {} ({}, {}). {}",
            ctx.t(
                "Someone already decided this pair while you were looking at it:",
                "आपके देखते-देखते किसी और ने इस जोड़ी पर निर्णय ले लिया:"
            ),
            pair_status_label(ctx.lang, status),
            by.as_deref().unwrap_or("—"),
            at.map(fmt_time).unwrap_or_default(),
            ctx.t("Nothing was changed. Go on to the next pair.", "कुछ नहीं बदला। अगली जोड़ी पर जाएँ।")
        ),
        PairRefusal::MergedAway { id, into } => format!(
            "{} {id} → {into}. {}",
            ctx.t(
                "One of the two records has been merged into another record meanwhile:",
                "इस बीच दोनों में से एक रिकॉर्ड किसी दूसरे रिकॉर्ड में मिला दिया गया:"
            ),
            ctx.t("Nothing was changed.", "कुछ नहीं बदला।")
        ),
    }
}

// ---------------------------------------------------------------- the queue

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    ward: Option<String>,
    #[serde(default)]
    page: Option<String>,
    #[serde(flatten)]
    done: DoneQuery,
}

/// What the page after an action reports.
#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    left: Option<String>,
    #[serde(default)]
    n: Option<String>,
}

/// The notice for the last decision, with an undo for administrators.
async fn decision_notice(state: &AppState, ctx: &Ctx, d: &DoneQuery) -> Markup {
    let (Some(done), Some(x)) = (d.done.as_deref(), d.x.as_deref()) else { return html! {} };
    let Ok(x) = x.parse::<RecordId>().map(|i| i.to_string()) else { return html! {} };
    let y = d.y.as_deref().and_then(|y| y.parse::<RecordId>().ok()).map(|i| i.to_string());
    let xn = name_of(state, &x).await;
    let yn = match &y {
        Some(y) => name_of(state, y).await,
        None => String::new(),
    };
    match done {
        "merged" => {
            let text = match ctx.lang {
                Lang::En => format!("Merged {xn} into {yn}. Tablets learn of it at their next sync."),
                Lang::Hi => format!("{xn} को {yn} में मिला दिया गया। टैबलेट अगली सिंक पर यह जान लेंगे।"),
            };
            html! {
                p.notice role="status" {
                    (text)
                    @if ctx.can(Action::UndoMerge) {
                        " "
                        form.inline method="post" action=(format!("/console/merges/{x}/undo")) {
                            (layout::csrf_field(ctx))
                            button.link type="submit" { (ctx.t("Undo this merge", "यह मिलान वापस लें")) }
                        }
                    }
                }
            }
        }
        "different" => {
            let text = match ctx.lang {
                Lang::En => format!("Recorded: {xn} and {yn} are different people."),
                Lang::Hi => format!("दर्ज किया गया: {xn} और {yn} अलग-अलग व्यक्ति हैं।"),
            };
            layout::notice(&text)
        }
        "undone" => {
            let mut text = match ctx.lang {
                Lang::En => format!("Undid the merge: {xn} stands alone again. The pair is back in the queue."),
                Lang::Hi => format!("मिलान वापस लिया गया: {xn} फिर से अलग रिकॉर्ड है। जोड़ी फिर से कतार में है।"),
            };
            let left: Vec<&str> = d.left.as_deref().unwrap_or("").split(',').filter(|s| !s.is_empty()).collect();
            if !left.is_empty() {
                let names: Vec<String> = left.iter().map(|f| field_label(ctx.lang, f)).collect();
                text.push(' ');
                text.push_str(ctx.t(
                    "Left as they are, because they were changed after the merge:",
                    "ये फ़ील्ड जैसे थे वैसे छोड़े गए, क्योंकि मिलान के बाद इन्हें बदला गया था:",
                ));
                text.push(' ');
                text.push_str(&names.join(", "));
                text.push('.');
            }
            layout::notice(&text)
        }
        _ => html! {},
    }
}

fn queue_status(ctx: &Ctx, waiting: i64, oldest: Option<i64>) -> Markup {
    html! {
        @if waiting > 0 {
            p.muted {
                (fmt_count(waiting)) " "
                (ctx.t("recently written residents are still waiting to be compared", "हाल में लिखे गए निवासियों की तुलना अभी बाकी है"))
                @if let Some(ms) = oldest { " (" (ctx.t("oldest since", "सबसे पुराना")) " " (fmt_time(ms / 1000)) ")" }
                ". " (ctx.t("Their pairs appear here within a minute.", "उनकी जोड़ियाँ एक मिनट में यहाँ दिखेंगी।"))
            }
        } @else {
            p.muted { (ctx.t("Every written resident has been compared; the queue is up to date.", "हर लिखे गए निवासी की तुलना हो चुकी है; कतार अद्यतन है।")) }
        }
    }
}

async fn queue_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<QueueQuery>,
) -> Result<Markup, ConsoleError> {
    let ward = ward_param(&ctx, q.ward.as_deref())?;
    let page = page_param(&ctx, q.page.as_deref())?;
    let queue = state.store.pending_queue(ward, (page - 1) * PAGE, PAGE).await.map_err(store_err(&ctx))?;
    let notice = decision_notice(&state, &ctx, &q.done).await;
    let first = queue.rows.first().map(|r| (r.pair.a.clone(), r.pair.b.clone()));
    let wq = ward_suffix(ward);
    let link = |p: u32| with_query("/console/duplicates", &[wq.clone(), format!("page={p}")]);
    let shown_to = (page - 1) * PAGE + queue.rows.len() as u32;
    let body = html! {
        (notice)
        (queue_status(&ctx, queue.waiting, queue.oldest_waiting))
        form.filters method="get" action="/console/duplicates" {
            div {
                label for="ward" { (ctx.t("Ward", "वार्ड")) }
                input #ward name="ward" type="number" min="1" max="250" value=[ward];
            }
            button type="submit" { (ctx.t("Filter", "फ़िल्टर करें")) }
            @if ward.is_some() { a href="/console/duplicates" { (ctx.t("All wards", "सभी वार्ड")) } }
            span.spacer {}
            a href="/console/merges" { (ctx.t("Recent merges", "हाल के मिलान")) }
        }
        p.count {
            strong { (count_text(queue.total)) } " "
            (ctx.t("pairs waiting for a decision, best match first.", "जोड़ियाँ निर्णय की प्रतीक्षा में, सबसे मज़बूत मेल पहले।"))
            @if let Some((a, b)) = &first {
                " "
                a.button.primary href=(with_query(&format!("/console/duplicates/{a}/{b}"), std::slice::from_ref(&wq))) data-key="j" {
                    (ctx.t("Start reviewing", "समीक्षा शुरू करें")) " " kbd { "j" }
                }
            }
        }
        @if queue.rows.is_empty() {
            p.empty-queue { (ctx.t("No pairs are waiting for a decision.", "कोई जोड़ी निर्णय की प्रतीक्षा में नहीं है।")) }
        } @else {
            table.queue {
                thead { tr {
                    th.num { (ctx.t("Score", "अंक")) }
                    th { (ctx.t("First record", "पहला रिकॉर्ड")) }
                    th { (ctx.t("Second record", "दूसरा रिकॉर्ड")) }
                    th { (ctx.t("Why they may be one person", "ये एक ही व्यक्ति क्यों हो सकते हैं")) }
                    th {}
                } }
                tbody {
                    @for r in &queue.rows {
                        tr {
                            td.num { (format!("{:.0}%", r.pair.score * 100.0)) }
                            td { (brief_cell(ctx.lang, r.a.as_ref())) }
                            td { (brief_cell(ctx.lang, r.b.as_ref())) }
                            td {
                                @for (i, reason) in r.pair.reasons.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    span class=(if against(reason.code) { "reason against" } else { "reason" }) { (reason_label(ctx.lang, reason.code)) }
                                }
                            }
                            td { a href=(with_query(&format!("/console/duplicates/{}/{}", r.pair.a, r.pair.b), std::slice::from_ref(&wq))) { (ctx.t("Compare", "तुलना करें")) } }
                        }
                    }
                }
            }
            nav.pager aria-label=(ctx.t("Pages", "पेज")) {
                @if page > 1 { a href=(link(page - 1)) { "← " (ctx.t("Previous", "पिछला")) } }
                span.muted { (fmt_count(i64::from((page - 1) * PAGE + 1))) "–" (fmt_count(i64::from(shown_to))) }
                @if i64::from(shown_to) < queue.total && page * PAGE <= MAX_OFFSET { a href=(link(page + 1)) { (ctx.t("Next", "अगला")) " →" } }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Duplicates, ctx.t("Duplicate queue", "डुप्लिकेट कतार"), body))
}

// ---------------------------------------------------------------- a pair

#[derive(Deserialize, Default)]
pub struct PairQuery {
    #[serde(default)]
    ward: Option<String>,
    #[serde(flatten)]
    done: DoneQuery,
}

/// The record to keep by default: verified (or enrolled in the field)
/// over unverified, the electoral roll's over a tablet's, the older.
fn suggest_survivor(lang: Lang, a: &Record, b: &Record) -> (bool, &'static str) {
    let rank = |r: &Record| match r.fields.text("status") {
        None | Some("verified") => 2,
        Some("unverified") => 0,
        _ => 1,
    };
    let roll = |r: &Record| r.meta.enrolled_by == crate::roll::ENROLLED_BY;
    if rank(a) != rank(b) {
        return (
            rank(a) > rank(b),
            lang.t(
                "it has been verified (or was enrolled in the field) and the other has not",
                "यह सत्यापित है (या फ़ील्ड में पंजीकृत हुआ) और दूसरा नहीं",
            ),
        );
    }
    if roll(a) != roll(b) {
        return (
            roll(a),
            lang.t(
                "it comes from the electoral roll, which cards are based on",
                "यह मतदाता सूची से है, जिस पर कार्ड आधारित हैं",
            ),
        );
    }
    (
        (a.meta.enrolled_at, a.meta.id.to_string()) <= (b.meta.enrolled_at, b.meta.id.to_string()),
        lang.t("it was enrolled first", "यह पहले पंजीकृत हुआ"),
    )
}

async fn pair_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((a, b)): Path<(String, String)>,
    Query(q): Query<PairQuery>,
) -> Result<Markup, ConsoleError> {
    let (a, b) = (record_id(&ctx, &a)?, record_id(&ctx, &b)?);
    let (a, b) = dedup::ordered(&a, &b);
    let ward = ward_param(&ctx, q.ward.as_deref())?;
    let pair = state.store.pair(&a, &b).await.map_err(store_err(&ctx))?.ok_or_else(|| {
        ConsoleError::not_found(
            &ctx,
            ctx.t("These two records are not a candidate pair.", "ये दोनों रिकॉर्ड संभावित डुप्लिकेट जोड़ी नहीं हैं।"),
        )
    })?;
    let (adoc, ra) = load(&state, &ctx, &a).await?;
    let (bdoc, rb) = load(&state, &ctx, &b).await?;
    let mut tablets = Vec::new();
    for r in [&ra, &rb] {
        let label = match &r.meta.enrolled_device {
            Some(d) => state.store.device(d).await.map_err(store_err(&ctx))?.map(|d| d.label),
            None => None,
        };
        tablets.push(label);
    }
    let prev = state.store.adjacent_pair(Some((a.clone(), b.clone())), false, ward).await.map_err(store_err(&ctx))?;
    let next = state.store.adjacent_pair(Some((a.clone(), b.clone())), true, ward).await.map_err(store_err(&ctx))?;
    let notice = decision_notice(&state, &ctx, &q.done).await;
    let pending = pair.status == "pending";
    let preview = if pending { dedup::preview_merge(&adoc, &bdoc, ctx.now).ok() } else { None };
    let choosable: Vec<String> =
        preview.as_ref().map(|c| c.conflicting.iter().map(|(f, _, _)| f.clone()).collect()).unwrap_or_default();
    let (a_first, why) = suggest_survivor(ctx.lang, &ra, &rb);
    let survivor = if a_first { &a } else { &b };
    let can_decide = pending && ctx.can(Action::ResolveDuplicate);
    let wq = ward_suffix(ward);
    let href =
        |(x, y): &(String, String)| with_query(&format!("/console/duplicates/{x}/{y}"), std::slice::from_ref(&wq));
    let sides = [(&a, &ra, &tablets[0]), (&b, &rb, &tablets[1])];
    let title = format!("{} ~ {}", ra.display_name(), rb.display_name());

    let field_rows =
        RESIDENT_FIELDS.iter().filter(|f| ra.fields.get(f.path).is_some() || rb.fields.get(f.path).is_some());
    let body = html! {
        (notice)
        nav.pairnav aria-label=(ctx.t("Pairs", "जोड़ियाँ")) {
            a href=(with_query("/console/duplicates", std::slice::from_ref(&wq))) { "↑ " (ctx.t("Queue", "कतार")) }
            @if let Some(p) = &prev { a href=(href(p)) data-key="k" { "← " (ctx.t("Previous pair", "पिछली जोड़ी")) " " kbd { "k" } } }
            @if let Some(n) = &next { a href=(href(n)) data-key="j" { (ctx.t("Next pair", "अगली जोड़ी")) " →" " " kbd { "j" } } }
            details.keys {
                summary data-key="?" { (ctx.t("Keyboard shortcuts", "कीबोर्ड शॉर्टकट")) " " kbd { "?" } }
                ul {
                    li { kbd { "m" } " " (ctx.t("merge, keeping the chosen record and values", "चुने गए रिकॉर्ड और मानों के साथ मिलाएँ")) }
                    li { kbd { "n" } " " (ctx.t("not the same person", "एक ही व्यक्ति नहीं")) }
                    li { kbd { "s" } " " (ctx.t("swap which record is kept", "रखे जाने वाले रिकॉर्ड को बदलें")) }
                    li { kbd { "1" } "–" kbd { "9" } " " (ctx.t("take the other value of a field in conflict", "विवादित फ़ील्ड का दूसरा मान चुनें")) }
                    li { kbd { "j" } " / " kbd { "k" } " " (ctx.t("next / previous pair", "अगली / पिछली जोड़ी")) }
                }
            }
        }
        p.score-line {
            span.badge { (ctx.t("Score", "अंक")) " " (format!("{:.0}%", pair.score * 100.0)) }
            " "
            span class=(if pending { "badge warn" } else { "badge ok" }) { (pair_status_label(ctx.lang, &pair.status)) }
            @if let (false, Some(by), Some(at)) = (pending, &pair.decided_by, pair.decided_at) {
                " " span.muted { (by) ", " (fmt_time(at)) }
            }
        }
        @if !pending {
            p.warn {
                (ctx.t("This pair has already been decided, so it cannot be decided again here.", "इस जोड़ी पर निर्णय हो चुका है, इसलिए यहाँ फिर से निर्णय नहीं हो सकता।"))
                @if ctx.can(Action::UndoMerge) && pair.status == "merged" {
                    " " a href="/console/merges" { (ctx.t("An administrator can undo the merge from the list of merges.", "व्यवस्थापक मिलानों की सूची से मिलान वापस ले सकते हैं।")) }
                }
            }
        }
        h2 { (ctx.t("Why they may be one person", "ये एक ही व्यक्ति क्यों हो सकते हैं")) }
        ul.reasons {
            @for r in &pair.reasons {
                li class=(if against(r.code) { "against" } else { "for" }) {
                    strong { (reason_label(ctx.lang, r.code)) }
                    @let ev = reason_evidence(&r.detail);
                    @if !ev.is_empty() { ": " span.evidence { (ev) } }
                }
            }
        }
        @if can_decide {
            p.suggest {
                (ctx.t("Suggested record to keep:", "रखने के लिए सुझाया गया रिकॉर्ड:")) " "
                strong { (if a_first { ra.display_name() } else { rb.display_name() }) }
                " — " (why) ". "
                (ctx.t("The other record's eHealth ID will lead to the kept one; its card still verifies.", "दूसरे रिकॉर्ड का ई-हेल्थ आईडी रखे गए रिकॉर्ड पर ले जाएगा; उसका कार्ड मान्य रहेगा।"))
            }
        }
        table.pair {
            thead {
                tr {
                    th { (ctx.t("Field", "फ़ील्ड")) }
                    @for (id, r, _) in &sides {
                        th {
                            a href=(format!("/console/records/{id}")) { (r.display_name()) }
                            @if can_decide {
                                br;
                                label.pick {
                                    input type="radio" name="survivor" form="merge" value=(id) checked[*id == survivor];
                                    " " (ctx.t("keep this record", "यह रिकॉर्ड रखें"))
                                }
                            }
                        }
                    }
                    @if can_decide { th.keys-col { } }
                }
            }
            tbody {
                tr.meta {
                    th { (ctx.t("eHealth ID", "ई-हेल्थ आईडी")) }
                    @for (_, r, _) in &sides { td { (r.meta.health_id.map(|h| h.to_string()).unwrap_or_else(|| "—".into())) } }
                    @if can_decide { td {} }
                }
                tr.meta {
                    th { (ctx.t("Status", "स्थिति")) }
                    @for (_, r, _) in &sides { td { (status_label(ctx.lang, r.fields.text("status"))) } }
                    @if can_decide { td {} }
                }
                tr.meta {
                    th { (ctx.t("Enrolled by", "पंजीकरण किसने किया")) }
                    @for (_, r, tablet) in &sides {
                        td {
                            @if r.meta.enrolled_by == crate::roll::ENROLLED_BY { (ctx.t("electoral roll import", "मतदाता सूची आयात")) } @else { (r.meta.enrolled_by) }
                            @if let Some(t) = tablet { " · " (t) }
                            br; span.muted.small { (fmt_time(r.meta.enrolled_at.timestamp())) }
                        }
                    }
                    @if can_decide { td {} }
                }
                tr.meta {
                    th { (ctx.t("Conflicts", "विवाद")) }
                    @for (_, r, _) in &sides {
                        td {
                            @if r.conflicts.is_empty() { span.muted { (ctx.t("none", "कोई नहीं")) } }
                            @else { span.badge.bad { (r.conflicts.len()) " " (ctx.t("field(s) in conflict", "फ़ील्ड में विवाद")) } }
                        }
                    }
                    @if can_decide { td {} }
                }
                @for spec in field_rows {
                    @let (va, vb) = (ra.fields.get(spec.path), rb.fields.get(spec.path));
                    @let differ = va != vb;
                    @let choice = choosable.iter().position(|f| f == spec.path).filter(|_| can_decide);
                    tr class=(if choice.is_some() { "field choose" } else if differ { "field differ" } else { "field" }) data-field=(spec.path) {
                        th { (field_label(ctx.lang, spec.path)) }
                        @for ((id, r, _), v) in sides.iter().zip([va, vb]) {
                            td {
                                @if choice.is_some() {
                                    label.pick {
                                        input type="radio" form="merge" name=(format!("keep.{}", spec.path)) value=(id) checked[*id == survivor];
                                        " " (v.map(|v| value_text(ctx.lang, spec.path, &v.to_json())).unwrap_or_default())
                                    }
                                } @else {
                                    @match v {
                                        Some(v) => {
                                            @if spec.path == "household_id" {
                                                @let hh = value_text(ctx.lang, spec.path, &v.to_json());
                                                a href=(format!("/console/records/{hh}")) { (ctx.t("household", "परिवार")) " …" (hh.get(hh.len().saturating_sub(6)..).unwrap_or("")) }
                                            } @else { (value_text(ctx.lang, spec.path, &v.to_json())) }
                                        }
                                        None => span.muted { "—" }
                                    }
                                    @if let Some(c) = r.conflicts.iter().find(|c| c.field == spec.path) {
                                        br; span.badge.bad { (ctx.t("in conflict:", "विवाद:")) " " (c.values.iter().map(json_text).collect::<Vec<_>>().join(" / ")) }
                                    }
                                }
                            }
                        }
                        @if can_decide {
                            td.keys-col {
                                @if let Some(i) = choice {
                                    @if i < 9 {
                                        button.flip type="button" data-flip=(spec.path) data-key=(i + 1) title=(ctx.t("Take the other value", "दूसरा मान लें")) { kbd { (i + 1) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if can_decide {
            @if !choosable.is_empty() {
                p.muted { (ctx.t("Where the two disagree, the value you choose is kept and the field is not left in conflict; by default the kept record's value.", "जहाँ दोनों अलग हैं, वहाँ आपका चुना मान रखा जाएगा और फ़ील्ड विवाद में नहीं रहेगा; पहले से रखे जाने वाले रिकॉर्ड का मान चुना है।")) }
            }
            div.decide {
                form #merge method="post" action=(format!("/console/duplicates/{a}/{b}/merge")) {
                    (layout::csrf_field(&ctx))
                    @if let Some(w) = ward { input type="hidden" name="ward" value=(w); }
                    button.primary type="submit" data-key="m" { (ctx.t("Merge", "मिलाएँ")) " " kbd { "m" } }
                }
                button type="button" data-swap="survivor" data-key="s" { (ctx.t("Swap kept record", "रखा जाने वाला रिकॉर्ड बदलें")) " " kbd { "s" } }
                form method="post" action=(format!("/console/duplicates/{a}/{b}/not-duplicate")) {
                    (layout::csrf_field(&ctx))
                    @if let Some(w) = ward { input type="hidden" name="ward" value=(w); }
                    button type="submit" data-key="n" { (ctx.t("Different people", "अलग-अलग व्यक्ति")) " " kbd { "n" } }
                }
            }
        } @else if pending {
            p.muted { (ctx.t("Your role can look at pairs but not decide them.", "आपकी भूमिका जोड़ियाँ देख सकती है, पर निर्णय नहीं ले सकती।")) }
        }
    };
    Ok(layout::page(&ctx, Nav::Duplicates, &title, body))
}

type FormPairs = Vec<(String, String)>;

fn form_get<'a>(form: &'a FormPairs, name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// After a decision: the next pending pair (in the same ward filter), or
/// the queue when none is left, with the notice.
async fn after_decision(
    state: &AppState,
    ctx: &Ctx,
    from: (String, String),
    ward: Option<i64>,
    done: String,
) -> Result<Response, ConsoleError> {
    let mut next = state.store.adjacent_pair(Some(from), true, ward).await.map_err(store_err(ctx))?;
    if next.is_none() {
        next = state.store.adjacent_pair(None, true, ward).await.map_err(store_err(ctx))?;
    }
    let to = match next {
        Some((x, y)) => with_query(&format!("/console/duplicates/{x}/{y}"), &[ward_suffix(ward), done]),
        None => with_query("/console/duplicates", &[ward_suffix(ward), done]),
    };
    Ok(Redirect::to(&to).into_response())
}

async fn merge(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((a, b)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Result<Response, ConsoleError> {
    let (a, b) = (record_id(&ctx, &a)?, record_id(&ctx, &b)?);
    let (a, b) = dedup::ordered(&a, &b);
    let ward = ward_param(&ctx, form_get(&form, "ward"))?;
    let survivor = form_get(&form, "survivor").map(str::trim).unwrap_or("");
    if survivor != a && survivor != b {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t(
                "Choose which of the two records to keep (it must be one of the pair). Nothing was changed.",
                "दोनों में से कौन-सा रिकॉर्ड रखना है, चुनें (वह इसी जोड़ी का होना चाहिए)। कुछ नहीं बदला।",
            ),
        ));
    }
    let survivor = survivor.to_string();
    let duplicate = if survivor == a { b.clone() } else { a.clone() };
    let mut keep = Vec::new();
    for (k, v) in &form {
        let Some(path) = k.strip_prefix("keep.") else { continue };
        if ehcard_core::model::spec(ehcard_core::RecordKind::Resident, path).is_none() {
            return Err(ConsoleError::bad(
                &ctx,
                format!("{} {path:?}", ctx.t("There is no such field:", "ऐसा कोई फ़ील्ड नहीं है:")),
            ));
        }
        let side = if v.trim() == survivor {
            Keep::Survivor
        } else if v.trim() == duplicate {
            Keep::Duplicate
        } else {
            return Err(ConsoleError::bad(
                &ctx,
                ctx.t(
                    "Each value must come from one of the two records. Nothing was changed.",
                    "हर मान दोनों में से किसी एक रिकॉर्ड से होना चाहिए। कुछ नहीं बदला।",
                ),
            ));
        };
        keep.push((path.to_string(), side));
    }
    let outcome =
        state.store.merge_pair(&survivor, &duplicate, keep, &ctx.staff.name, ctx.now).await.map_err(store_err(&ctx))?;
    if let Err(r) = outcome {
        return Err(ConsoleError::bad(&ctx, refusal_text(&ctx, &r)));
    }
    wake_matcher(&state);
    after_decision(&state, &ctx, (a, b), ward, format!("done=merged&x={duplicate}&y={survivor}")).await
}

async fn not_duplicate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((a, b)): Path<(String, String)>,
    Form(form): Form<FormPairs>,
) -> Result<Response, ConsoleError> {
    let (a, b) = (record_id(&ctx, &a)?, record_id(&ctx, &b)?);
    let (a, b) = dedup::ordered(&a, &b);
    let ward = ward_param(&ctx, form_get(&form, "ward"))?;
    let outcome = state.store.pair_not_duplicate(&a, &b, &ctx.staff.name, ctx.now).await.map_err(store_err(&ctx))?;
    if let Err(r) = outcome {
        return Err(ConsoleError::bad(&ctx, refusal_text(&ctx, &r)));
    }
    let done = format!("done=different&x={a}&y={b}");
    after_decision(&state, &ctx, (a, b), ward, done).await
}

// ---------------------------------------------------------------- merges

#[derive(Deserialize, Default)]
pub struct MergesQuery {
    #[serde(default)]
    page: Option<String>,
    #[serde(flatten)]
    done: DoneQuery,
}

async fn merges_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<MergesQuery>,
) -> Result<Markup, ConsoleError> {
    let page = page_param(&ctx, q.page.as_deref())?;
    let (rows, total) = state.store.recent_merges((page - 1) * PAGE, PAGE).await.map_err(store_err(&ctx))?;
    let notice = decision_notice(&state, &ctx, &q.done).await;
    let admin = ctx.can(Action::UndoMerge);
    let shown_to = (page - 1) * PAGE + rows.len() as u32;
    let body = html! {
        (notice)
        p { a href="/console/duplicates" { "← " (ctx.t("Duplicate queue", "डुप्लिकेट कतार")) } }
        p.muted {
            (fmt_count(total)) " " (ctx.t("merges, newest first.", "मिलान, सबसे नए पहले।")) " "
            @if admin {
                (ctx.t("Undoing a merge separates the two records again and puts the pair back in the queue; fields changed since the merge are left as they are.", "मिलान वापस लेने पर दोनों रिकॉर्ड फिर अलग हो जाते हैं और जोड़ी कतार में लौट आती है; मिलान के बाद बदले गए फ़ील्ड जैसे हैं वैसे रहते हैं।"))
            } @else {
                (ctx.t("Only an administrator can undo a merge.", "केवल व्यवस्थापक मिलान वापस ले सकते हैं।"))
            }
        }
        @if rows.is_empty() {
            p { (ctx.t("No records have been merged yet.", "अभी तक कोई रिकॉर्ड नहीं मिलाया गया।")) }
        } @else {
            table.merges {
                thead { tr {
                    th { (ctx.t("When", "कब")) }
                    th { (ctx.t("By", "किसने")) }
                    th { (ctx.t("Kept record", "रखा गया रिकॉर्ड")) }
                    th { (ctx.t("Merged into it", "इसमें मिलाया गया")) }
                    th { (ctx.t("Fields", "फ़ील्ड")) }
                    th { (ctx.t("State", "स्थिति")) }
                } }
                tbody {
                    @for r in &rows {
                        @let m = &r.merge;
                        tr {
                            td { (fmt_time(m.merged_at)) }
                            td { (m.merged_by) }
                            td { (brief_cell(ctx.lang, r.survivor.as_ref())) }
                            td { (brief_cell(ctx.lang, r.duplicate.as_ref())) }
                            td.small {
                                @if !m.combination.taken.is_empty() {
                                    (ctx.t("taken:", "लिए गए:")) " " (m.combination.taken.iter().map(|(f, _)| field_label(ctx.lang, f)).collect::<Vec<_>>().join(", ")) br;
                                }
                                @if !m.combination.conflicting.is_empty() {
                                    (ctx.t("chosen:", "चुने गए:")) " " (m.combination.conflicting.iter().map(|(f, _, _)| field_label(ctx.lang, f)).collect::<Vec<_>>().join(", "))
                                }
                            }
                            td {
                                @if let Some(at) = m.undone_at {
                                    span.badge { (ctx.t("undone", "वापस लिया गया")) } br;
                                    span.muted.small { (m.undone_by.as_deref().unwrap_or("")) ", " (fmt_time(at)) }
                                } @else {
                                    span.badge.ok { (ctx.t("merged", "मिलाया गया")) }
                                    @if admin {
                                        " "
                                        form.inline method="post" action=(format!("/console/merges/{}/undo", m.duplicate))
                                            data-confirm=(ctx.t("Undo this merge?", "यह मिलान वापस लें?")) {
                                            (layout::csrf_field(&ctx))
                                            button type="submit" { (ctx.t("Undo", "वापस लें")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(ctx.t("Pages", "पेज")) {
                @if page > 1 { a href=(format!("/console/merges?page={}", page - 1)) { "← " (ctx.t("Previous", "पिछला")) } }
                @if i64::from(shown_to) < total && page * PAGE <= MAX_OFFSET { a href=(format!("/console/merges?page={}", page + 1)) { (ctx.t("Next", "अगला")) " →" } }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Duplicates, ctx.t("Recent merges", "हाल के मिलान"), body))
}

async fn undo(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(duplicate): Path<String>,
) -> Result<Response, ConsoleError> {
    let duplicate = record_id(&ctx, &duplicate)?;
    let (m, left) = match state.store.undo_merge(&duplicate, &ctx.staff.name, ctx.now).await {
        Ok(x) => x,
        Err(crate::store::StoreError::Refused(_)) => {
            return Err(ConsoleError::bad(
                &ctx,
                ctx.t(
                    "This record is not merged into another record (or its merge was already undone), so nothing was changed.",
                    "यह रिकॉर्ड किसी दूसरे रिकॉर्ड में मिलाया हुआ नहीं है (या मिलान पहले ही वापस लिया जा चुका है), इसलिए कुछ नहीं बदला।",
                ),
            ));
        }
        Err(e) => return Err(ConsoleError::store(&ctx, e)),
    };
    wake_matcher(&state);
    let left = layout::url_encode(&left.join(","));
    Ok(Redirect::to(&format!("/console/merges?done=undone&x={duplicate}&y={}&left={left}", m.survivor)).into_response())
}

// ---------------------------------------------------------------- approvals

#[derive(Deserialize, Default)]
pub struct ApprovalQuery {
    #[serde(default)]
    tab: Option<String>,
    #[serde(default)]
    ward: Option<String>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    page: Option<String>,
    #[serde(flatten)]
    done: DoneQuery,
}

fn tab_of(ctx: &Ctx, s: Option<&str>) -> Result<ApprovalTab, ConsoleError> {
    match s.unwrap_or("ready") {
        "" | "ready" => Ok(ApprovalTab::Ready),
        "approved" => Ok(ApprovalTab::Approved),
        "printed" => Ok(ApprovalTab::Printed),
        other => {
            Err(ConsoleError::bad(ctx, format!("{} {other:?}", ctx.t("There is no such list:", "ऐसी कोई सूची नहीं है:"))))
        }
    }
}

fn tab_name(t: ApprovalTab) -> &'static str {
    match t {
        ApprovalTab::Ready => "ready",
        ApprovalTab::Approved => "approved",
        ApprovalTab::Printed => "printed",
    }
}

fn approval_notice(ctx: &Ctx, d: &DoneQuery) -> Markup {
    let n = d.n.as_deref().and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
    match d.done.as_deref() {
        Some("approved") => layout::notice(&match ctx.lang {
            Lang::En => format!(
                "Approved {} record(s) for a permanent card. They are now in “Approved, not printed”.",
                fmt_count(n)
            ),
            Lang::Hi => format!("{} रिकॉर्ड स्थायी कार्ड के लिए स्वीकृत किए गए। अब वे “स्वीकृत, छपे नहीं” में हैं।", fmt_count(n)),
        }),
        Some("revoked") => layout::notice(ctx.t(
            "The approval was withdrawn; the record is back among those ready for approval (if it still qualifies).",
            "स्वीकृति वापस ली गई; रिकॉर्ड फिर से स्वीकृति के लिए तैयार सूची में है (यदि अब भी योग्य है)।",
        )),
        _ => html! {},
    }
}

fn refusal_reason(ctx: &Ctx, r: &Refusal) -> String {
    match r {
        Refusal::NoRecord => ctx.t("there is no such record", "ऐसा कोई रिकॉर्ड नहीं है").into(),
        Refusal::MergedAway => ctx.t("it was merged into another record", "इसे किसी दूसरे रिकॉर्ड में मिलाया गया है").into(),
        Refusal::Conflicts => {
            ctx.t("it has fields in conflict: settle them first", "इसके फ़ील्ड में विवाद है: पहले उन्हें सुलझाएँ").into()
        }
        Refusal::PendingPair => ctx
            .t("it is in a duplicate pair waiting for a decision", "यह निर्णय की प्रतीक्षा कर रही डुप्लिकेट जोड़ी में है")
            .into(),
        Refusal::Status(s) => format!(
            "{} ({})",
            ctx.t("its status does not allow a card", "इसकी स्थिति में कार्ड नहीं बन सकता"),
            status_label(ctx.lang, Some(s))
        ),
        Refusal::NoCard(_) => {
            ctx.t("it has no eHealth ID or is not a resident", "इसका ई-हेल्थ आईडी नहीं है या यह निवासी नहीं है").into()
        }
        Refusal::AlreadyApproved => ctx.t("it is already approved", "यह पहले से स्वीकृत है").into(),
        Refusal::NotApproved => ctx.t("it is not approved", "यह स्वीकृत नहीं है").into(),
    }
}

fn refusals_text(ctx: &Ctx, head: &str, refused: &[(String, Refusal)]) -> String {
    let items: Vec<String> =
        refused.iter().take(20).map(|(id, r)| format!("{id}: {}", refusal_reason(ctx, r))).collect();
    let more = refused.len().saturating_sub(20);
    let mut s = format!("{head} {}", items.join("; "));
    if more > 0 {
        s.push_str(&format!(" (+{more})"));
    }
    s
}

async fn approvals_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ApprovalQuery>,
) -> Result<Markup, ConsoleError> {
    let tab = tab_of(&ctx, q.tab.as_deref())?;
    let ward = ward_param(&ctx, q.ward.as_deref())?;
    let page = page_param(&ctx, q.page.as_deref())?;
    let after = match q.after.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(record_id(&ctx, s)?),
        None => None,
    };
    let counts = state.store.approval_counts(ward).await.map_err(store_err(&ctx))?;
    let rows =
        state.store.approval_list(tab, ward, after.clone(), (page - 1) * PAGE, PAGE).await.map_err(store_err(&ctx))?;
    let can = ctx.can(Action::Approve);
    let wq = ward_suffix(ward);
    let tab_link = |t: ApprovalTab| with_query("/console/approvals", &[format!("tab={}", tab_name(t)), wq.clone()]);
    let more = rows.len() as u32 == PAGE;
    let next_link = match tab {
        ApprovalTab::Ready => rows.last().map(|r| {
            with_query("/console/approvals", &["tab=ready".into(), wq.clone(), format!("after={}", r.record.id)])
        }),
        _ => Some(with_query(
            "/console/approvals",
            &[format!("tab={}", tab_name(tab)), wq.clone(), format!("page={}", page + 1)],
        )),
    };
    let body = html! {
        (approval_notice(&ctx, &q.done))
        p.muted {
            (ctx.t(
                "A record is ready for a permanent card when it is a resident with an eHealth ID, verified or enrolled in the field, not merged away, with no fields in conflict and not in a duplicate pair waiting for a decision.",
                "कोई रिकॉर्ड स्थायी कार्ड के लिए तब तैयार है जब वह ई-हेल्थ आईडी वाला निवासी हो, सत्यापित हो या फ़ील्ड में पंजीकृत हुआ हो, किसी और में मिलाया न गया हो, उसके किसी फ़ील्ड में विवाद न हो और वह निर्णय की प्रतीक्षा कर रही डुप्लिकेट जोड़ी में न हो।"
            ))
        }
        nav.tabs aria-label=(ctx.t("Lists", "सूचियाँ")) {
            a href=(tab_link(ApprovalTab::Ready)) aria-current=[(tab == ApprovalTab::Ready).then_some("page")] {
                (ctx.t("Ready for approval", "स्वीकृति के लिए तैयार")) " " span.badge { (count_text(counts.ready)) }
            }
            a href=(tab_link(ApprovalTab::Approved)) aria-current=[(tab == ApprovalTab::Approved).then_some("page")] {
                (ctx.t("Approved, not printed", "स्वीकृत, छपे नहीं")) " " span.badge { (count_text(counts.approved)) }
            }
            a href=(tab_link(ApprovalTab::Printed)) aria-current=[(tab == ApprovalTab::Printed).then_some("page")] {
                (ctx.t("Printed", "छपे हुए")) " " span.badge { (count_text(counts.printed)) }
            }
        }
        form.filters method="get" action="/console/approvals" {
            input type="hidden" name="tab" value=(tab_name(tab));
            div {
                label for="ward" { (ctx.t("Ward", "वार्ड")) }
                input #ward name="ward" type="number" min="1" max="250" value=[ward];
            }
            button type="submit" { (ctx.t("Filter", "फ़िल्टर करें")) }
            @if ward.is_some() { a href=(with_query("/console/approvals", &[format!("tab={}", tab_name(tab))])) { (ctx.t("All wards", "सभी वार्ड")) } }
        }
        @if can && tab == ApprovalTab::Approved {
            form.print-all method="post" action="/console/approvals/print" {
                (layout::csrf_field(&ctx))
                input type="hidden" name="all" value="1";
                @if let Some(w) = ward { input type="hidden" name="ward" value=(w); }
                button.primary type="submit" {
                    @match ward {
                        Some(w) => { (ctx.t("Print the next batch of ward", "इस वार्ड का अगला बैच छापें:")) " " (w) }
                        None => { (ctx.t("Print the next batch", "अगला बैच छापें")) }
                    }
                }
                " " span.muted { "(" (ctx.t("up to", "अधिकतम")) " " (MAX_PRINT) " " (ctx.t("cards, oldest approvals first, as an A4 PDF of ten cards a sheet, fronts then backs for duplex printing", "कार्ड, सबसे पुरानी स्वीकृति पहले, A4 PDF में — हर शीट पर दस कार्ड, पहले आगे का भाग फिर पीछे का, दोनों ओर छपाई के लिए")) ")" }
            }
        }
        @if rows.is_empty() {
            p.empty { (match tab {
                ApprovalTab::Ready => ctx.t("No records are waiting for approval.", "कोई रिकॉर्ड स्वीकृति की प्रतीक्षा में नहीं है।"),
                ApprovalTab::Approved => ctx.t("Every approved card has been printed.", "हर स्वीकृत कार्ड छप चुका है।"),
                ApprovalTab::Printed => ctx.t("No cards have been printed yet.", "अभी तक कोई कार्ड नहीं छपा।"),
            }) }
        } @else {
            form #approvals method="post" action=(if tab == ApprovalTab::Ready { "/console/approvals/approve" } else { "/console/approvals/print" }) {
                @if can { (layout::csrf_field(&ctx)) }
                (approval_table(&ctx, tab, &rows, can))
                @if can {
                    div.actions {
                        @match tab {
                            ApprovalTab::Ready => { button.primary type="submit" { (ctx.t("Approve selected", "चुने हुए स्वीकृत करें")) } }
                            ApprovalTab::Approved => { button.primary type="submit" { (ctx.t("Print selected (A4 PDF)", "चुने हुए छापें (A4 PDF)")) } }
                            ApprovalTab::Printed => { button type="submit" { (ctx.t("Print selected again", "चुने हुए फिर से छापें")) } }
                        }
                    }
                }
            }
            nav.pager aria-label=(ctx.t("Pages", "पेज")) {
                @if tab == ApprovalTab::Ready && after.is_some() { a href=(tab_link(ApprovalTab::Ready)) { "⇤ " (ctx.t("First page", "पहला पेज")) } }
                @if tab != ApprovalTab::Ready && page > 1 {
                    a href=(with_query("/console/approvals", &[format!("tab={}", tab_name(tab)), wq.clone(), format!("page={}", page - 1)])) { "← " (ctx.t("Previous", "पिछला")) }
                }
                @if let (true, Some(l)) = (more, &next_link) { a href=(l) { (ctx.t("Next", "अगला")) " →" } }
            }
        }
        @if !can { p.muted { (ctx.t("Your role can see these lists but not approve or print.", "आपकी भूमिका ये सूचियाँ देख सकती है, पर स्वीकृत या छाप नहीं सकती।")) } }
    };
    Ok(layout::page(&ctx, Nav::Approvals, ctx.t("Card approval and printing", "कार्ड स्वीकृति और छपाई"), body))
}

fn approval_table(ctx: &Ctx, tab: ApprovalTab, rows: &[ApprovalRow], can: bool) -> Markup {
    html! {
        table.approvals {
            thead { tr {
                @if can {
                    th.check {
                        label.pick { input type="checkbox" data-select-all="id" title=(ctx.t("Select all on this page", "इस पेज पर सभी चुनें")); span.sr { (ctx.t("all", "सभी")) } }
                    }
                }
                th { (ctx.t("Name", "नाम")) }
                th { (ctx.t("eHealth ID", "ई-हेल्थ आईडी")) }
                th.num { (ctx.t("Ward", "वार्ड")) }
                @match tab {
                    ApprovalTab::Ready => { th { (ctx.t("Status", "स्थिति")) } th { (ctx.t("Enrolled by", "पंजीकरण किसने किया")) } }
                    ApprovalTab::Approved => { th { (ctx.t("Approved", "स्वीकृत")) } @if can { th {} } }
                    ApprovalTab::Printed => { th { (ctx.t("Approved", "स्वीकृत")) } th { (ctx.t("Last printed", "पिछली छपाई")) } th.num { (ctx.t("Times", "बार")) } @if can { th {} } }
                }
            } }
            tbody {
                @for r in rows {
                    @let b = &r.record;
                    tr {
                        @if can {
                            td.check { input type="checkbox" name="id" value=(b.id) aria-label=(b.name()); }
                        }
                        td {
                            a href=(format!("/console/records/{}", b.id)) { (b.name()) }
                            @if let Some(hi) = &b.name_hi { br; span lang="hi" { (hi) } }
                            @if b.merged_into.is_some() { " " span.badge.bad { (ctx.t("merged away", "दूसरे में मिलाया गया")) } }
                            @if b.has_conflicts { " " span.badge.warn { (ctx.t("conflict", "विवाद")) } }
                        }
                        td { (health_text(b.health_id.as_deref())) }
                        td.num { (b.ward) }
                        @match tab {
                            ApprovalTab::Ready => {
                                td { (status_label(ctx.lang, b.status.as_deref())) }
                                td { @if b.enrolled_by.as_deref() == Some(crate::roll::ENROLLED_BY) { (ctx.t("electoral roll", "मतदाता सूची")) } @else { (b.enrolled_by.as_deref().unwrap_or("—")) } }
                            }
                            _ => {
                                td { (r.approved_by) br; span.muted.small { (fmt_time(r.approved_at)) } }
                                @if tab == ApprovalTab::Printed {
                                    td { (r.printed_by.as_deref().unwrap_or("—")) br; span.muted.small { (r.printed_at.map(fmt_time).unwrap_or_default()) } }
                                    td.num { (r.print_count) }
                                }
                                @if can {
                                    td {
                                        button.link type="submit" formaction=(format!("/console/approvals/{}/revoke", b.id))
                                            data-confirm=(ctx.t("Withdraw this approval?", "यह स्वीकृति वापस लें?")) {
                                            (ctx.t("Withdraw approval", "स्वीकृति वापस लें"))
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

fn ids_of(ctx: &Ctx, form: &FormPairs, cap: usize) -> Result<Vec<String>, ConsoleError> {
    let mut ids = Vec::new();
    for (k, v) in form {
        if k == "id" {
            let id = record_id(ctx, v)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    if ids.len() > cap {
        return Err(ConsoleError::bad(
            ctx,
            format!(
                "{} {cap}.",
                ctx.t("Too many records at once: select at most", "एक बार में बहुत ज़्यादा रिकॉर्ड: अधिकतम इतने चुनें:")
            ),
        ));
    }
    Ok(ids)
}

async fn approve(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormPairs>,
) -> Result<Response, ConsoleError> {
    let ids = ids_of(&ctx, &form, MAX_APPROVE)?;
    if ids.is_empty() {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t(
                "Select at least one record to approve. Nothing was changed.",
                "स्वीकृत करने के लिए कम से कम एक रिकॉर्ड चुनें। कुछ नहीं बदला।",
            ),
        ));
    }
    match state.store.approve(ids, &ctx.staff.name, ctx.now).await.map_err(store_err(&ctx))? {
        Ok(n) => Ok(Redirect::to(&format!("/console/approvals?tab=ready&done=approved&n={n}")).into_response()),
        Err(refused) => Err(ConsoleError::bad(
            &ctx,
            refusals_text(
                &ctx,
                ctx.t(
                    "Nothing was approved. These records cannot be approved:",
                    "कुछ भी स्वीकृत नहीं हुआ। ये रिकॉर्ड स्वीकृत नहीं हो सकते:",
                ),
                &refused,
            ),
        )),
    }
}

async fn revoke(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let id = record_id(&ctx, &id)?;
    match state.store.revoke_approval(&id, &ctx.staff.name, ctx.now).await.map_err(store_err(&ctx))? {
        Ok(()) => Ok(Redirect::to("/console/approvals?tab=approved&done=revoked").into_response()),
        Err(r) => Err(ConsoleError::bad(
            &ctx,
            format!("{}: {}", ctx.t("Nothing was changed", "कुछ नहीं बदला"), refusal_reason(&ctx, &r)),
        )),
    }
}

async fn print(State(state): State<AppState>, ctx: Ctx, Form(form): Form<FormPairs>) -> Result<Response, ConsoleError> {
    let all = form_get(&form, "all") == Some("1");
    let ward = ward_param(&ctx, form_get(&form, "ward"))?;
    let ids = ids_of(&ctx, &form, MAX_PRINT as usize)?;
    if !all && ids.is_empty() {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t("Select at least one approved record to print.", "छापने के लिए कम से कम एक स्वीकृत रिकॉर्ड चुनें।"),
        ));
    }
    let docs = state
        .store
        .approved_docs(if all { None } else { Some(ids) }, ward, MAX_PRINT)
        .await
        .map_err(store_err(&ctx))?
        .map_err(|refused| {
            ConsoleError::bad(
                &ctx,
                refusals_text(
                    &ctx,
                    ctx.t("Nothing was printed. These records cannot be printed:", "कुछ नहीं छपा। ये रिकॉर्ड छप नहीं सकते:"),
                    &refused,
                ),
            )
        })?;
    if docs.is_empty() {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t("There are no approved cards waiting to be printed.", "छपाई की प्रतीक्षा में कोई स्वीकृत कार्ड नहीं है।"),
        ));
    }
    let ids: Vec<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    let (key, issuer, now) = (state.registry_key.clone(), state.issuer.clone(), ctx.now);
    let made =
        tokio::task::spawn_blocking(move || -> Result<Result<Vec<u8>, (String, String)>, crate::store::StoreError> {
            let mut records = Vec::with_capacity(docs.len());
            for (id, doc) in &docs {
                let corrupt = |e: ehcard_core::DocError| crate::store::StoreError::Corrupt {
                    id: id.clone(),
                    message: e.to_string(),
                };
                let r = ehcard_core::RecordDoc::load(doc, &crate::store::server_actor())
                    .map_err(corrupt)?
                    .read()
                    .map_err(corrupt)?;
                if let Err(e) = card_readiness(&r) {
                    return Ok(Err((id.clone(), format!("{e:?}"))));
                }
                records.push(r);
            }
            let cards = crate::registry::permanent_cards(&records, &key, &issuer, now)
                .map_err(|e| crate::store::StoreError::Database(format!("cards: {e}")))?;
            let pdf = ehcard_card::pdf::card_pdf(&cards, ehcard_card::pdf::Layout::A4Sheet)
                .map_err(|e| crate::store::StoreError::Database(format!("cards: {e}")))?;
            Ok(Ok(pdf))
        })
        .await
        .map_err(|e| ConsoleError::store(&ctx, crate::store::StoreError::Database(format!("worker: {e}"))))?
        .map_err(store_err(&ctx))?;
    let pdf = made.map_err(|(id, _)| {
        ConsoleError::bad(
            &ctx,
            format!(
                "{} {id}. {}",
                ctx.t(
                    "A record changed after it was approved and no longer qualifies for a card:",
                    "स्वीकृति के बाद एक रिकॉर्ड बदल गया और अब कार्ड के योग्य नहीं है:"
                ),
                ctx.t(
                    "Withdraw its approval, settle it, and approve it again. Nothing was printed.",
                    "उसकी स्वीकृति वापस लें, उसे ठीक करें और फिर से स्वीकृत करें। कुछ नहीं छपा।"
                )
            ),
        )
    })?;
    state.store.mark_printed(ids.clone(), &ctx.staff.name, ctx.now).await.map_err(store_err(&ctx))?;
    let stamp = chrono::DateTime::from_timestamp(ctx.now + 19_800, 0)
        .map(|t| t.format("%Y%m%d-%H%M").to_string())
        .unwrap_or_default();
    let file = format!("ehcard-permanent-cards-{stamp}-{}.pdf", ids.len());
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
        ],
        pdf,
    )
        .into_response())
}
