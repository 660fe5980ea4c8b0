//! The dashboard: residents and households by ward (enrolled in the field,
//! confirmed from the roll, still to confirm, pending review), coverage
//! against the roll, tablets and their last sync, today's throughput.
//!
//! Everything on it comes from one store call ([`DashboardStore::dashboard`],
//! aggregate queries over indexes) and the tablet list; the charts are SVG
//! drawn here with presentation attributes only (the CSP allows no inline
//! styles), each with a table beside it that carries the same numbers.
//!
//! [`DashboardStore::dashboard`]: crate::store::DashboardStore::dashboard

use axum::Router;
use axum::extract::{RawQuery, State};
use maud::{Markup, html};

use super::layout::{self, Lang, Nav, fmt_count, fmt_time};
use super::{Action, ConsoleError, Ctx, Route};
use crate::api::AppState;
use crate::store::console_dashboard::{Dashboard, WardFigures};
use crate::store::{Device, StoreError};

/// `/console` itself is listed in `console::all_routes` (and routed there).
pub const ROUTES: &[Route] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// India Standard Time is five and a half hours ahead of UTC, all year.
const IST: i64 = 5 * 3600 + 1800;
const DAY: i64 = 86_400;
/// A tablet that has not synced for longer than this is chased.
pub const STALE_SECONDS: i64 = 3 * DAY;
/// Stale tablets listed on the page (the rest are counted).
const STALE_SHOWN: usize = 50;
/// Wards in the table (the city has 250).
const MAX_WARDS: usize = 250;

/// The moment the IST day holding `now` began (unix seconds).
pub fn ist_day_start(now: i64) -> i64 {
    let local = now + IST;
    local - local.rem_euclid(DAY) - IST
}

/// How the ward table is ordered (`?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Ward,
    Residents,
    Households,
    Field,
    Confirmed,
    Unverified,
    Gone,
    Pending,
    /// Lowest first: where teams are needed.
    Coverage,
}

impl Sort {
    const ALL: [Sort; 9] = [
        Sort::Ward,
        Sort::Residents,
        Sort::Households,
        Sort::Field,
        Sort::Confirmed,
        Sort::Unverified,
        Sort::Gone,
        Sort::Pending,
        Sort::Coverage,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Sort::Ward => "ward",
            Sort::Residents => "residents",
            Sort::Households => "households",
            Sort::Field => "field",
            Sort::Confirmed => "confirmed",
            Sort::Unverified => "unverified",
            Sort::Gone => "gone",
            Sort::Pending => "pending",
            Sort::Coverage => "coverage",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|k| k.key() == s)
    }

    fn label(self, lang: Lang) -> &'static str {
        match self {
            Sort::Ward => lang.t("Ward", "वार्ड"),
            Sort::Residents => lang.t("Residents", "निवासी"),
            Sort::Households => lang.t("Households", "परिवार"),
            Sort::Field => lang.t("Enrolled in the field", "फ़ील्ड में नामांकित"),
            Sort::Confirmed => lang.t("Confirmed from the roll", "सूची से पुष्टि हुई"),
            Sort::Unverified => lang.t("Still to confirm", "पुष्टि बाकी"),
            Sort::Gone => lang.t("Moved, deceased, not found", "स्थानांतरित, मृत, नहीं मिले"),
            Sort::Pending => lang.t("Pending review", "समीक्षा बाकी"),
            Sort::Coverage => lang.t("Coverage", "कवरेज"),
        }
    }

    /// The order a click on the column asks for: a supervisor wants the
    /// biggest backlog and the lowest coverage first.
    fn ascending(self) -> bool {
        matches!(self, Sort::Ward | Sort::Coverage)
    }

    fn value(self, w: &WardFigures) -> i64 {
        match self {
            Sort::Ward => w.ward,
            Sort::Residents => w.residents,
            Sort::Households => w.households,
            Sort::Field => w.field,
            Sort::Confirmed => w.confirmed,
            Sort::Unverified => w.unverified,
            Sort::Gone => w.gone,
            Sort::Pending => w.pending_review(),
            // Wards without a roll have no coverage: after every ward with one.
            Sort::Coverage => w.coverage_permille().unwrap_or(i64::MAX),
        }
    }
}

/// Order wards by `sort` (ties by ward number).
pub fn sort_wards(wards: &mut [WardFigures], sort: Sort) {
    wards.sort_by(|a, b| {
        let (x, y) = (sort.value(a), sort.value(b));
        let by = if sort.ascending() { x.cmp(&y) } else { y.cmp(&x) };
        by.then(a.ward.cmp(&b.ward))
    });
}

/// Tablets by state, and the ones to chase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tablets {
    pub active: usize,
    pub awaiting: usize,
    pub revoked: usize,
    /// Active tablets that synced since the day began.
    pub synced_today: usize,
    /// Active tablets not synced (or, never synced, not provisioned) for
    /// more than [`STALE_SECONDS`], longest silent first.
    pub stale: Vec<Device>,
}

pub fn tablets(devices: Vec<Device>, now: i64, day_start: i64) -> Tablets {
    let mut t = Tablets::default();
    for d in devices {
        if d.revoked_at.is_some() {
            t.revoked += 1;
            continue;
        }
        let Some(provisioned) = d.provisioned_at else {
            t.awaiting += 1;
            continue;
        };
        t.active += 1;
        if d.last_sync_at.is_some_and(|s| s >= day_start) {
            t.synced_today += 1;
        }
        if now - d.last_sync_at.unwrap_or(provisioned) > STALE_SECONDS {
            t.stale.push(d);
        }
    }
    t.stale.sort_by_key(|d| (d.last_sync_at.unwrap_or(i64::MIN), d.number));
    t
}

/// `sort` from the query string; anything else there is ignored.
fn sort_of(ctx: &Ctx, query: Option<&str>) -> Result<Sort, ConsoleError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or("")).unwrap_or_default();
    let Some((_, value)) = pairs.into_iter().find(|(k, _)| k == "sort") else { return Ok(Sort::Coverage) };
    Sort::parse(&value).ok_or_else(|| {
        let keys: Vec<&str> = Sort::ALL.iter().map(|s| s.key()).collect();
        ConsoleError::bad(
            ctx,
            format!(
                "{} “{value}”. {} {}.",
                ctx.t("The ward table cannot be sorted by", "वार्ड तालिका को इस क्रम में नहीं लगाया जा सकता:"),
                ctx.t("Use one of:", "इनमें से कोई चुनें:"),
                keys.join(", ")
            ),
        )
    })
}

pub async fn page(State(state): State<AppState>, ctx: Ctx, RawQuery(query): RawQuery) -> Result<Markup, ConsoleError> {
    ctx.require(Action::View)?;
    let sort = sort_of(&ctx, query.as_deref())?;
    let now = (state.clock)();
    let day_start = ist_day_start(now);
    let (figures, devices) = tokio::try_join!(state.store.dashboard(day_start), state.store.devices())
        .map_err(|e: StoreError| ConsoleError::store(&ctx, e))?;
    let tablets = tablets(devices, now, day_start);
    let title = ctx.t("Dashboard", "डैशबोर्ड");
    Ok(layout::page(&ctx, Nav::Dashboard, title, body(&ctx, &figures, &tablets, sort, now, day_start)))
}

/// `n` tenths of a percent as "45.3%".
fn pct(permille: i64) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

fn coverage_text(w: &WardFigures) -> String {
    w.coverage_permille().map(pct).unwrap_or_else(|| "—".into())
}

/// The colour band of a coverage: what the legend names.
fn band(permille: i64) -> (&'static str, &'static str) {
    if permille < 250 {
        ("#b42318", "bad")
    } else if permille < 750 {
        ("#bf8700", "warn")
    } else {
        ("#1a7f37", "ok")
    }
}

fn body(ctx: &Ctx, d: &Dashboard, tablets: &Tablets, sort: Sort, now: i64, day_start: i64) -> Markup {
    let t = &d.total;
    html! { div.dash {
        p.muted.asof {
            (ctx.t("Figures as of", "आँकड़े इस समय तक:")) " " (fmt_time(now)) " IST · "
            (fmt_count(d.wards.len() as i64)) " " (ctx.t("wards with data", "वार्डों में डेटा"))
        }
        section.dash-totals aria-labelledby="totals-h" {
            h2 #totals-h .visually-hidden { (ctx.t("City totals", "पूरे शहर के आँकड़े")) }
            div.cards {
                div.card.coverage {
                    div.figure { (coverage_text(t)) }
                    div.label { (ctx.t("Coverage of the roll", "मतदाता सूची का कवरेज")) }
                    @if let Some(c) = t.coverage_permille() {
                        meter min="0" max="1000" low="250" high="750" optimum="1000" value=(c) {}
                    }
                    div.sub {
                        @match ctx.lang {
                            Lang::En => { (fmt_count(t.confirmed)) " of " (fmt_count(t.roll)) " roll rows confirmed" }
                            Lang::Hi => { (fmt_count(t.roll)) " में से " (fmt_count(t.confirmed)) " सूची पंक्तियों की पुष्टि हुई" }
                        }
                    }
                }
                (card(&fmt_count(t.residents), ctx.t("Residents", "निवासी"), None, "residents"))
                (card(&fmt_count(t.households), ctx.t("Households", "परिवार"), None, "households"))
                (card(&fmt_count(t.field), ctx.t("Enrolled in the field", "फ़ील्ड में नामांकित"),
                    Some(ctx.t("not from the roll", "मतदाता सूची से नहीं")), "field"))
                (card(&fmt_count(t.confirmed), ctx.t("Confirmed from the roll", "सूची से पुष्टि हुई"),
                    Some(ctx.t("verified by a field team", "फ़ील्ड टीम ने पुष्टि की")), "confirmed"))
                (card(&fmt_count(t.unverified), ctx.t("Still to confirm", "पुष्टि बाकी"),
                    Some(ctx.t("roll rows not yet visited", "सूची की पंक्तियाँ, अभी जाँच नहीं हुई")), "unverified"))
                (card(&fmt_count(t.gone), ctx.t("Moved, deceased, not found", "स्थानांतरित, मृत, नहीं मिले"),
                    None, "gone"))
                div.card.pending {
                    div.figure { (fmt_count(t.pending_review())) }
                    div.label { (ctx.t("Pending review", "समीक्षा बाकी")) }
                    div.sub {
                        a href="/console/duplicates" {
                            (ctx.t("duplicate pairs", "डुप्लिकेट जोड़े")) ": " (fmt_count(t.pending_pairs))
                        }
                        " · " (ctx.t("conflicts", "टकराव")) ": " (fmt_count(t.conflicts))
                    }
                }
            }
        }
        div.dash-panels {
            (today_panel(ctx, d, tablets, day_start))
            (tablet_panel(ctx, tablets, now))
        }
        (ward_section(ctx, d, sort))
    } }
}

fn card(figure: &str, label: &str, sub: Option<&str>, class: &str) -> Markup {
    html! {
        div class=(format!("card {class}")) {
            div.figure { (figure) }
            div.label { (label) }
            @if let Some(s) = sub { div.sub { (s) } }
        }
    }
}

fn today_panel(ctx: &Ctx, d: &Dashboard, tablets: &Tablets, day_start: i64) -> Markup {
    html! {
        section.panel.dash-today aria-labelledby="today-h" {
            h2 #today-h { (ctx.t("Today", "आज")) " " span.muted { "(" (fmt_day(day_start)) ")" } }
            div.cards.small {
                (card(&fmt_count(d.received_today()), ctx.t("Records received", "प्राप्त रिकॉर्ड"),
                    Some(ctx.t("from tablets", "टैबलेट से")), "received"))
                (card(&fmt_count(d.enrolled_today), ctx.t("New residents", "नए निवासी"),
                    Some(ctx.t("enrolled in the field today", "आज फ़ील्ड में नामांकित")), "enrolled"))
                (card(&format!("{} / {}", fmt_count(tablets.synced_today as i64), fmt_count(tablets.active as i64)),
                    ctx.t("Tablets synced", "सिंक हुए टैबलेट"), Some(ctx.t("of active tablets", "सक्रिय टैबलेट में से")),
                    "synced"))
            }
            (hour_chart(ctx, &d.received_by_hour))
        }
    }
}

/// "28 Nov 2026" of an IST day's start.
fn fmt_day(day_start: i64) -> String {
    fmt_time(day_start).split(',').next().unwrap_or_default().to_string()
}

fn tablet_panel(ctx: &Ctx, t: &Tablets, now: i64) -> Markup {
    html! {
        section.panel.dash-tablets aria-labelledby="tablets-h" {
            h2 #tablets-h { (ctx.t("Tablets", "टैबलेट")) }
            div.cards.small {
                (card(&fmt_count(t.active as i64), ctx.t("Active", "सक्रिय"), None, "active"))
                (card(&fmt_count(t.awaiting as i64), ctx.t("Awaiting provisioning", "प्रोविज़निंग बाकी"), None,
                    "awaiting"))
                (card(&fmt_count(t.revoked as i64), ctx.t("Revoked", "रद्द"), None, "revoked"))
            }
            h3 #stale-h {
                (ctx.t("Not synced for more than 3 days", "3 दिन से ज़्यादा समय से सिंक नहीं हुए"))
                " " span class=(if t.stale.is_empty() { "badge ok" } else { "badge bad" }) { (fmt_count(t.stale.len() as i64)) }
            }
            @if t.stale.is_empty() {
                p.muted.stale-none { (ctx.t("Every active tablet has synced in the last 3 days.",
                    "हर सक्रिय टैबलेट पिछले 3 दिनों में सिंक हुआ है।")) }
            } @else {
                table.stale aria-labelledby="stale-h" {
                    thead { tr {
                        th scope="col" { (ctx.t("Tablet", "टैबलेट")) }
                        th scope="col" { (ctx.t("Wards", "वार्ड")) }
                        th scope="col" { (ctx.t("Last sync", "अंतिम सिंक")) }
                        th.num scope="col" { (ctx.t("Days", "दिन")) }
                    } }
                    tbody {
                        @for d in t.stale.iter().take(STALE_SHOWN) {
                            tr {
                                td { (d.label) " " span.muted { "#" (d.number) } }
                                td { (d.wards.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")) }
                                td {
                                    @match d.last_sync_at {
                                        Some(s) => (fmt_time(s)),
                                        None => span.muted { (ctx.t("never", "कभी नहीं")) },
                                    }
                                }
                                td.num { (d.last_sync_at.or(d.provisioned_at).map(|s| (now - s) / DAY).map(fmt_count).unwrap_or_default()) }
                            }
                        }
                    }
                }
                @if t.stale.len() > STALE_SHOWN {
                    p.muted { (fmt_count((t.stale.len() - STALE_SHOWN) as i64)) " " (ctx.t("more not shown.", "और नहीं दिखाए गए।")) }
                }
            }
            @if ctx.can(Action::ManageTablets) {
                p { a href="/console/tablets" { (ctx.t("Manage tablets", "टैबलेट प्रबंधित करें")) " →" } }
            }
        }
    }
}

fn ward_section(ctx: &Ctx, d: &Dashboard, sort: Sort) -> Markup {
    let mut wards: Vec<WardFigures> = d.wards.iter().filter(|w| w.ward > 0).copied().collect();
    let lowest = {
        let mut by_cov: Vec<WardFigures> = wards.iter().filter(|w| w.roll > 0).copied().collect();
        sort_wards(&mut by_cov, Sort::Coverage);
        by_cov.truncate(5);
        by_cov
    };
    let chart = coverage_chart(ctx, &wards);
    sort_wards(&mut wards, sort);
    wards.truncate(MAX_WARDS);
    html! {
        section.dash-wards aria-labelledby="wards-h" {
            h2 #wards-h { (ctx.t("Coverage by ward", "वार्डवार कवरेज")) }
            @if wards.is_empty() {
                p.muted { (ctx.t("No residents yet: import the electoral roll or sync a tablet.",
                    "अभी कोई निवासी नहीं: मतदाता सूची आयात करें या कोई टैबलेट सिंक करें।")) }
            } @else {
                @if !lowest.is_empty() {
                    p.lowest {
                        (ctx.t("Lowest coverage:", "सबसे कम कवरेज:")) " "
                        @for (i, w) in lowest.iter().enumerate() {
                            @if i > 0 { ", " }
                            a href=(format!("/console/search?ward={}", w.ward)) {
                                (ctx.t("ward", "वार्ड")) " " (w.ward)
                            }
                            " (" (coverage_text(w)) ")"
                        }
                    }
                }
                (chart)
                (ward_table(ctx, &wards, &d.total, sort))
            }
        }
    }
}

fn ward_table(ctx: &Ctx, wards: &[WardFigures], total: &WardFigures, sort: Sort) -> Markup {
    let head = |s: Sort| {
        let active = s == sort;
        let aria = active.then_some(if s.ascending() { "ascending" } else { "descending" });
        let class = if s == Sort::Ward { "" } else { "num" };
        html! {
            th scope="col" class=(class) aria-sort=[aria] {
                @if active {
                    span.sorted { (s.label(ctx.lang)) " " (if s.ascending() { "↑" } else { "↓" }) }
                } @else {
                    a href=(format!("/console?sort={}#wards-h", s.key())) { (s.label(ctx.lang)) }
                }
            }
        }
    };
    let cells = |w: &WardFigures| {
        html! {
            td.num { (fmt_count(w.residents)) }
            td.num { (fmt_count(w.households)) }
            td.num { (fmt_count(w.field)) }
            td.num { (fmt_count(w.confirmed)) }
            td.num { (fmt_count(w.unverified)) }
            td.num { (fmt_count(w.gone)) }
            td.num { (fmt_count(w.pending_review())) }
            td.num.cov {
                @if let Some(c) = w.coverage_permille() {
                    meter min="0" max="1000" low="250" high="750" optimum="1000" value=(c) {}
                }
                " " span { (coverage_text(w)) }
            }
        }
    };
    html! {
        div.table-scroll {
            table.wards #wards {
                caption.visually-hidden {
                    (ctx.t("Residents, households and coverage by ward", "वार्डवार निवासी, परिवार और कवरेज"))
                }
                thead { tr { @for s in Sort::ALL { (head(s)) } } }
                tbody {
                    @for w in wards {
                        tr data-ward=(w.ward) {
                            th scope="row" {
                                a href=(format!("/console/search?ward={}", w.ward)) { (ctx.t("Ward", "वार्ड")) " " (w.ward) }
                            }
                            (cells(w))
                        }
                    }
                }
                tfoot {
                    tr.total {
                        th scope="row" { (ctx.t("City", "पूरा शहर")) }
                        (cells(total))
                    }
                }
            }
        }
    }
}

/// Coverage by ward as columns, in ward order, coloured by band.
fn coverage_chart(ctx: &Ctx, wards: &[WardFigures]) -> Markup {
    let n = wards.len().max(1) as i64;
    let slot = (1000 / n).clamp(4, 36);
    let bar = (slot * 3 / 4).max(3);
    let (left, top, plot_h, bottom) = (44, 10, 160, 34);
    let width = left + slot * n + 10;
    let height = top + plot_h + bottom;
    // Label every k-th ward so labels stay at least 28 units apart.
    let every = ((28 + slot - 1) / slot).max(1) as usize;
    let y = |permille: i64| top + plot_h - plot_h * permille.clamp(0, 1000) / 1000;
    let with_roll = wards.iter().filter(|w| w.roll > 0).count();
    let desc = format!(
        "{} {} {}. {}",
        fmt_count(with_roll as i64),
        ctx.t("wards with a roll; overall coverage", "वार्डों में मतदाता सूची; कुल कवरेज"),
        coverage_text(&wards.iter().fold(WardFigures::default(), |mut a, w| {
            a.roll += w.roll;
            a.confirmed += w.confirmed;
            a
        })),
        ctx.t("The table below has every figure.", "हर आँकड़ा नीचे की तालिका में है।")
    );
    html! {
        figure.chart.coverage-chart {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="cov-title cov-desc"
                viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) {
                title #cov-title { (ctx.t("Coverage of the roll by ward", "वार्डवार मतदाता सूची का कवरेज")) }
                desc #cov-desc { (desc) }
                @for p in [0, 250, 500, 750, 1000] {
                    line x1=(left) x2=(width - 6) y1=(y(p)) y2=(y(p)) stroke="#d0d7de" stroke-width="1" {}
                    text x=(left - 6) y=(y(p) + 4) text-anchor="end" font-size="11" fill="#57606a" { (p / 10) "%" }
                }
                @for (i, w) in wards.iter().enumerate() {
                    @let x = left + slot * i as i64 + (slot - bar) / 2;
                    @match w.coverage_permille() {
                        Some(c) => {
                            @let top_y = y(c).min(top + plot_h - 1);
                            rect.bar x=(x) y=(top_y) width=(bar) height=(top + plot_h - top_y) fill=(band(c).0)
                                data-ward=(w.ward) {
                                title { (ctx.t("Ward", "वार्ड")) " " (w.ward) ": " (pct(c)) " (" (fmt_count(w.confirmed)) " / " (fmt_count(w.roll)) ")" }
                            }
                        }
                        None => {
                            rect.bar.none x=(x) y=(top + plot_h - 2) width=(bar) height="2" fill="#8c959f" data-ward=(w.ward) {
                                title { (ctx.t("Ward", "वार्ड")) " " (w.ward) ": " (ctx.t("no roll", "मतदाता सूची नहीं")) }
                            }
                        }
                    }
                    @if i % every == 0 {
                        text x=(x + bar / 2) y=(top + plot_h + 14) text-anchor="middle" font-size="11" fill="#57606a" { (w.ward) }
                    }
                }
                line x1=(left) x2=(width - 6) y1=(top + plot_h) y2=(top + plot_h) stroke="#57606a" stroke-width="1" {}
                text x=(left + (width - left) / 2) y=(height - 4) text-anchor="middle" font-size="12" fill="#1b1f24" {
                    (ctx.t("Ward", "वार्ड"))
                }
            }
            figcaption.legend {
                span.key.key-bad { (ctx.t("below 25%", "25% से कम")) }
                span.key.key-warn { (ctx.t("25–75%", "25–75%")) }
                span.key.key-ok { (ctx.t("75% or more", "75% या अधिक")) }
                span.muted { (ctx.t("Hover a bar for its ward's figures.", "किसी बार पर माउस रखें: उस वार्ड के आँकड़े दिखेंगे।")) }
            }
        }
    }
}

/// Records received in each hour of today, with the numbers in a table for
/// those who cannot see the chart.
fn hour_chart(ctx: &Ctx, hours: &[i64]) -> Markup {
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    let (left, top, plot_h, bottom, slot, bar) = (40i64, 10i64, 110i64, 22i64, 22i64, 16i64);
    let width = left + slot * 24 + 8;
    let height = top + plot_h + bottom;
    // A round scale: 1, 2, 5, 10, 20, 50, …
    let mut scale = 1i64;
    while scale < max {
        scale = match scale.to_string().as_bytes()[0] {
            b'1' => scale * 2,
            b'2' => scale * 5 / 2,
            _ => scale * 2,
        };
    }
    let y = |v: i64| top + plot_h - plot_h * v / scale;
    html! {
        figure.chart.hour-chart {
            svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="hours-title hours-desc"
                viewBox=(format!("0 0 {width} {height}")) width=(width) height=(height) {
                title #hours-title { (ctx.t("Records received from tablets today, by hour (IST)", "आज टैबलेट से प्राप्त रिकॉर्ड, घंटेवार (IST)")) }
                desc #hours-desc {
                    (ctx.t("Busiest hour:", "सबसे व्यस्त घंटा:")) " "
                    @let busiest = hours.iter().enumerate().max_by_key(|(i, v)| (**v, -(*i as i64))).map(|(i, _)| i).unwrap_or(0);
                    (format!("{busiest:02}:00")) ", " (fmt_count(hours.get(busiest).copied().unwrap_or(0)))
                }
                @for v in [0, scale / 2, scale] {
                    line x1=(left) x2=(width - 4) y1=(y(v)) y2=(y(v)) stroke="#d0d7de" stroke-width="1" {}
                    text x=(left - 5) y=(y(v) + 4) text-anchor="end" font-size="11" fill="#57606a" { (fmt_count(v)) }
                }
                @for (h, v) in hours.iter().enumerate() {
                    @let x = left + slot * h as i64 + (slot - bar) / 2;
                    @if *v > 0 {
                        @let top_y = y(*v).min(top + plot_h - 1);
                        rect.bar x=(x) y=(top_y) width=(bar) height=(top + plot_h - top_y) fill="#0b5d8a" data-hour=(h) {
                            title { (format!("{h:02}:00–{:02}:00", h + 1)) ": " (fmt_count(*v)) }
                        }
                    }
                    @if h % 3 == 0 {
                        text x=(x + bar / 2) y=(top + plot_h + 15) text-anchor="middle" font-size="11" fill="#57606a" { (format!("{h:02}")) }
                    }
                }
                line x1=(left) x2=(width - 4) y1=(top + plot_h) y2=(top + plot_h) stroke="#57606a" stroke-width="1" {}
            }
            details.hour-table {
                summary { (ctx.t("By hour, as a table", "घंटेवार, तालिका में")) }
                table {
                    thead { tr { th scope="col" { (ctx.t("Hour (IST)", "घंटा (IST)")) } th.num scope="col" { (ctx.t("Records", "रिकॉर्ड")) } } }
                    tbody {
                        @for (h, v) in hours.iter().enumerate() {
                            @if *v > 0 {
                                tr { td { (format!("{h:02}:00–{:02}:00", h + 1)) } td.num { (fmt_count(*v)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u32, provisioned: Option<i64>, revoked: Option<i64>, last_sync: Option<i64>) -> Device {
        Device {
            id: format!("d{n}"),
            number: n,
            label: format!("tablet {n}"),
            wards: vec![12],
            public_key: None,
            created_at: 0,
            provisioned_at: provisioned,
            revoked_at: revoked,
            last_sync_at: last_sync,
            code_expires_at: None,
        }
    }

    #[test]
    fn the_ist_day_starts_at_midnight_in_india() {
        // 2026-11-28 18:29:59 UTC is 23:59:59 IST; a second later, a new day.
        let before = 1_795_890_599;
        assert_eq!(ist_day_start(before), 1_795_890_600 - DAY);
        assert_eq!(ist_day_start(before + 1), 1_795_890_600);
        assert_eq!(fmt_time(ist_day_start(before + 1)), "29 Nov 2026, 00:00");
    }

    #[test]
    fn stale_tablets_are_active_ones_silent_for_three_days() {
        let now = 10 * DAY;
        let day = ist_day_start(now);
        let t = tablets(
            vec![
                device(1, Some(0), None, Some(now - 3 * DAY - 1)),
                device(2, Some(0), None, Some(now - 60)),
                device(3, Some(now - DAY), None, None),
                device(4, Some(0), None, None),
                device(5, None, None, None),
                device(6, Some(0), Some(now), Some(0)),
            ],
            now,
            day,
        );
        assert_eq!((t.active, t.awaiting, t.revoked), (4, 1, 1));
        assert_eq!(t.stale.iter().map(|d| d.number).collect::<Vec<_>>(), [4, 1]);
        assert_eq!(t.synced_today, usize::from(now - 60 >= day));
    }

    #[test]
    fn wards_sort_lowest_coverage_first_and_biggest_backlog_first() {
        let w =
            |ward, roll, confirmed, unverified| WardFigures { ward, roll, confirmed, unverified, ..Default::default() };
        let mut v = vec![w(1, 10, 9, 1), w(2, 0, 0, 0), w(3, 10, 1, 9), w(4, 10, 5, 5)];
        sort_wards(&mut v, Sort::Coverage);
        assert_eq!(v.iter().map(|w| w.ward).collect::<Vec<_>>(), [3, 4, 1, 2]);
        sort_wards(&mut v, Sort::Unverified);
        assert_eq!(v.iter().map(|w| w.ward).collect::<Vec<_>>(), [3, 4, 1, 2]);
        sort_wards(&mut v, Sort::Ward);
        assert_eq!(v.iter().map(|w| w.ward).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(Sort::parse("coverage"), Some(Sort::Coverage));
        assert_eq!(Sort::parse("nope"), None);
        assert_eq!(pct(453), "45.3%");
    }
}
