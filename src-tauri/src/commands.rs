//! The commands the UI invokes. Each converts its input, calls a domain
//! crate, and converts the output; none holds domain logic.

use base64::Engine;
use chrono::Utc;
use ehcard_card::pdf::Layout;
use ehcard_core::model::{self, RecordKind};
use ehcard_core::{EditContext, Lang, RecordId};
use ehcard_field::OsEntropy;
use ehcard_field::provision::ProvisionRequest;
use ehcard_store::{Store, StoreError};
use serde_json::Value;
use tauri::{AppHandle, Emitter, Manager, State};

use crate::dto::*;
use crate::state::{AppState, with_store};

type Res<T> = Result<T, AppError>;

const QUEUE: &str = "app_print_queue";
const LAST_REPORT: &str = "app_last_sync_report";
const WORKER: &str = "app_worker";

fn store_err(lang: Lang) -> impl Fn(StoreError) -> AppError {
    move |e| AppError::store(e, lang)
}

fn flow_err(lang: Lang) -> impl Fn(ehcard_field::FieldError) -> AppError {
    move |e| AppError::flow(e, lang)
}

fn rid(store: &Store, id: &str, lang: Lang) -> Res<RecordId> {
    store.resolve(id).map_err(store_err(lang))
}

fn edit_context(store: &Store) -> EditContext {
    let worker = store.setting(WORKER).ok().flatten().unwrap_or_else(|| format!("device {}", store.device().number));
    EditContext::new(Utc::now(), worker)
}

fn blocking_failed(e: impl std::fmt::Display) -> AppError {
    AppError::new("internal", format!("background work failed: {e}"))
}

fn status_of(state: &AppState, store: Option<&Store>) -> AppStatus {
    let p = store.and_then(|s| s.provisioning().ok().flatten());
    AppStatus {
        provisioned: ehcard_store::exists(&state.dir),
        unlocked: store.is_some(),
        device_label: store.map(|s| s.device().label.clone()),
        device_number: store.map(|s| s.device().number.to_string()),
        wards: p.as_ref().map(|p| p.wards.clone()).unwrap_or_default(),
        server_url: p.map(|p| p.server_url),
        data_dir: state.dir.display().to_string(),
    }
}

#[tauri::command]
pub fn app_status(state: State<'_, AppState>) -> Res<AppStatus> {
    let guard = state.guard()?;
    Ok(status_of(&state, guard.as_ref()))
}

#[tauri::command]
pub fn set_lang(state: State<'_, AppState>, lang: String) -> Res<()> {
    let l = if lang == "hi" { Lang::Hi } else { Lang::En };
    if let Ok(mut g) = state.lang.lock() {
        *g = l;
    }
    Ok(())
}

#[tauri::command]
pub async fn provision(
    app: AppHandle,
    server: String,
    code: String,
    passphrase: String,
    worker: Option<String>,
) -> Res<AppStatus> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let lang = state.lang();
        let req = ProvisionRequest::new(server.trim(), code.trim(), &passphrase, Utc::now().timestamp());
        let store = ehcard_field::provision(&state.dir, &req, &mut OsEntropy::new()).map_err(flow_err(lang))?;
        if let Some(w) = worker.map(|w| w.trim().to_string()).filter(|w| !w.is_empty()) {
            store.set_setting(WORKER, &w).map_err(store_err(lang))?;
        }
        let mut guard = state.guard()?;
        *guard = Some(store);
        Ok(status_of(&state, guard.as_ref()))
    })
    .await
    .map_err(blocking_failed)?
}

#[tauri::command]
pub async fn unlock(app: AppHandle, passphrase: String) -> Res<AppStatus> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let lang = state.lang();
        let store = Store::open(&state.dir, &passphrase).map_err(store_err(lang))?;
        let mut guard = state.guard()?;
        *guard = Some(store);
        Ok(status_of(&state, guard.as_ref()))
    })
    .await
    .map_err(blocking_failed)?
}

#[tauri::command]
pub fn lock(state: State<'_, AppState>) -> Res<AppStatus> {
    let mut guard = state.guard()?;
    *guard = None;
    Ok(status_of(&state, None))
}

fn queue_ids(store: &Store) -> Vec<String> {
    store.setting(QUEUE).ok().flatten().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

#[tauri::command]
pub async fn home(state: State<'_, AppState>) -> Res<Home> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let s = store.stats(&edit_context(store)).map_err(store_err(lang))?;
        let n = |k: &str| s.by_status.get(k).copied().unwrap_or(0) as u32;
        Ok(Home {
            device_label: s.device_label.clone(),
            residents: s.residents as u32,
            households: s.households as u32,
            enrolled_today: s.enrolled_today as u32,
            confirmed: n("verified") + n("enrolled"),
            unverified: n("unverified"),
            moved_or_gone: n("moved") + n("deceased") + n("not_found"),
            pending_upload: store.pending_count().map_err(store_err(lang))? as u32,
            with_conflicts: s.with_conflicts as u32,
            by_ward: s
                .by_ward
                .iter()
                .filter(|(w, _)| **w > 0)
                .map(|(w, c)| WardCount { ward: *w as u16, residents: *c as u32 })
                .collect(),
            last_sync_at: ehcard_field::sync::last_sync_at(store).map_err(flow_err(lang))?,
            print_queue: queue_ids(store).len() as u32,
        })
    })
}

#[tauri::command]
pub async fn search(state: State<'_, AppState>, text: String, limit: Option<u32>) -> Res<Vec<Person>> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let hits = store.search(&text, limit.unwrap_or(50) as usize).map_err(store_err(lang))?;
        Ok(hits.into_iter().map(Person::from).collect())
    })
}

#[tauri::command]
pub async fn households(state: State<'_, AppState>, ward: Option<i64>, limit: Option<u32>) -> Res<Vec<HouseholdItem>> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let rows = store.households(ward, limit.unwrap_or(200) as usize).map_err(store_err(lang))?;
        // `HouseholdRow` is not re-exported by ehcard-store: convert field by field.
        Ok(rows
            .into_iter()
            .map(|h| HouseholdItem {
                address: [h.house, h.street, h.locality].into_iter().flatten().collect::<Vec<_>>().join(", "),
                id: h.id,
                ward: h.ward,
                head_name: h.head_name,
                members: h.members,
                unverified: h.unverified,
            })
            .collect())
    })
}

#[tauri::command]
pub async fn household(state: State<'_, AppState>, id: String) -> Res<HouseholdView> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let hid: RecordId = id.parse().map_err(|_| AppError::store(StoreError::NotFound(id.clone()), lang))?;
        let record = store.show(&hid).map_err(store_err(lang))?;
        let members = store.members(&hid).map_err(store_err(lang))?;
        Ok(HouseholdView { household: record.to_json(), members: members.into_iter().map(Person::from).collect() })
    })
}

fn record_view(store: &Store, id: &RecordId, lang: Lang) -> Res<RecordView> {
    let record = store.show(id).map_err(store_err(lang))?;
    let sync_state = serde_json::to_value(store.sync_state(id).map_err(store_err(lang))?)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let has_photo = store.setting(&format!("app_photo:{id}")).ok().flatten().is_some();
    Ok(RecordView { record: record.to_json(), sync_state, has_photo })
}

#[tauri::command]
pub async fn show(state: State<'_, AppState>, id: String) -> Res<RecordView> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        record_view(store, &id, lang)
    })
}

#[tauri::command]
pub async fn set_status(state: State<'_, AppState>, id: String, status: String) -> Res<RecordView> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        let ctx = edit_context(store);
        store.set_status(&id, &status, &ctx).map_err(store_err(lang))?;
        record_view(store, &id, lang)
    })
}

fn parse_resident(record: &Value, lang: Lang) -> Res<model::Input> {
    model::parse_input(RecordKind::Resident, record, Utc::now().date_naive()).map_err(|e| AppError::invalid(&e, lang))
}

/// The field errors of a resident form, in the chosen language (empty: valid).
#[tauri::command]
pub fn validate(state: State<'_, AppState>, record: Value) -> Vec<FieldMessage> {
    match parse_resident(&record, state.lang()) {
        Ok(_) => Vec::new(),
        Err(e) => e.fields,
    }
}

/// Residents on the device who may be this one (before saving).
#[tauri::command]
pub async fn check_duplicates(state: State<'_, AppState>, record: Value) -> Res<Vec<DuplicateView>> {
    let lang = state.lang();
    let input = parse_resident(&record, lang)?;
    with_store(&state.store, |store| {
        let found = store.likely_duplicates(input.id.as_ref(), &input.fields).map_err(store_err(lang))?;
        Ok(found.into_iter().map(DuplicateView::from).collect())
    })
}

fn push_queue(store: &Store, id: &str) -> Result<(), StoreError> {
    let mut q = queue_ids(store);
    if !q.iter().any(|x| x == id) {
        q.push(id.to_string());
    }
    store.set_setting(QUEUE, &serde_json::to_string(&q).unwrap_or_else(|_| "[]".into()))
}

/// Enroll a resident. Refused with `likely_duplicate` unless every candidate
/// was checked and named in `not_duplicate_of`. A new resident joins the
/// print queue.
#[tauri::command]
pub async fn enroll(state: State<'_, AppState>, record: Value, not_duplicate_of: Vec<String>) -> Res<Saved> {
    let lang = state.lang();
    let input = parse_resident(&record, lang)?;
    with_store(&state.store, |store| {
        let checked = not_duplicate_of.iter().map(|c| rid(store, c, lang)).collect::<Res<Vec<_>>>()?;
        let ctx = edit_context(store);
        let r = store.enroll(input, &checked, &mut OsEntropy::new(), &ctx).map_err(store_err(lang))?;
        push_queue(store, &r.meta.id.to_string()).map_err(store_err(lang))?;
        Ok(Saved { id: r.meta.id.to_string(), health_id: r.meta.health_id.map(|h| h.to_string()), record: r.to_json() })
    })
}

/// Save an edited resident: every field that differs from the stored record.
#[tauri::command]
pub async fn edit(state: State<'_, AppState>, id: String, record: Value) -> Res<Saved> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        let current = store.show(&id).map_err(store_err(lang))?;
        let edits = ehcard_field::edits::edits_from_json(&current, &record, Utc::now().date_naive())
            .map_err(|e| AppError::invalid(&e, lang))?;
        let ctx = edit_context(store);
        let r = if edits.is_empty() { current } else { store.edit(&id, &edits, &ctx).map_err(store_err(lang))? };
        Ok(Saved { id: r.meta.id.to_string(), health_id: r.meta.health_id.map(|h| h.to_string()), record: r.to_json() })
    })
}

/// Drafts live in the encrypted store, so a half-typed form survives the
/// app closing without leaving personal data readable on disk.
#[tauri::command]
pub async fn save_draft(state: State<'_, AppState>, key: String, json: String) -> Res<()> {
    let lang = state.lang();
    with_store(&state.store, |store| store.set_setting(&format!("app_draft:{key}"), &json).map_err(store_err(lang)))
}

#[tauri::command]
pub async fn load_draft(state: State<'_, AppState>, key: String) -> Res<Option<String>> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let d = store.setting(&format!("app_draft:{key}")).map_err(store_err(lang))?;
        Ok(d.filter(|s| !s.is_empty()))
    })
}

#[tauri::command]
pub async fn clear_draft(state: State<'_, AppState>, key: String) -> Res<()> {
    let lang = state.lang();
    with_store(&state.store, |store| store.set_setting(&format!("app_draft:{key}"), "").map_err(store_err(lang)))
}

/// A resident's photo (a `data:image/jpeg;base64,…` URL, already shrunk by
/// the UI): local to this device, kept in the encrypted store, never synced.
#[tauri::command]
pub async fn set_photo(state: State<'_, AppState>, id: String, data_url: Option<String>) -> Res<()> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        let value = data_url.unwrap_or_default();
        if value.len() > 2_000_000 || !(value.is_empty() || value.starts_with("data:image/")) {
            return Err(AppError::new("photo_too_large", "the photo must be an image under 1.5 MB"));
        }
        store.set_setting(&format!("app_photo:{id}"), &value).map_err(store_err(lang))
    })
}

#[tauri::command]
pub async fn photo(state: State<'_, AppState>, id: String) -> Res<Option<String>> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        Ok(store.setting(&format!("app_photo:{id}")).map_err(store_err(lang))?.filter(|s| !s.is_empty()))
    })
}

fn born(date: &Option<String>, year: Option<i64>) -> String {
    date.clone().or(year.map(|y| y.to_string())).unwrap_or_default()
}

#[tauri::command]
pub async fn card_preview(state: State<'_, AppState>, id: String) -> Res<CardPreview> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        let p = ehcard_field::cards::preview(store, &id, Utc::now().timestamp()).map_err(flow_err(lang))?;
        let c = &p.card;
        let cl = c.clinical.as_ref();
        Ok(CardPreview {
            health_id: c.health_id.clone(),
            name: c.full_name(),
            name_hi: c.name_hi.clone(),
            born: born(&c.date_of_birth, c.birth_year),
            sex: c.sex.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
            blood_group: cl.and_then(|c| c.blood_group.clone()),
            allergies: cl.map(|c| c.allergies.clone()).unwrap_or_default(),
            chronic_conditions: cl.map(|c| c.chronic_conditions.clone()).unwrap_or_default(),
            emergency: cl.and_then(|c| {
                let s = [c.emergency_name.clone(), c.emergency_phone.clone()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                (!s.is_empty()).then_some(s)
            }),
            clinical_shared: cl.is_some(),
            qr_width: p.qr_width as u32,
            qr_dark: p.qr_dark,
            expires_at: p.expires_at,
        })
    })
}

fn name_of(store: &Store, id: &RecordId) -> (String, Option<String>) {
    match store.show(id) {
        Ok(r) => (r.display_name(), r.meta.health_id.map(|h| h.to_string())),
        Err(_) => (id.to_string(), None),
    }
}

#[tauri::command]
pub async fn queue(state: State<'_, AppState>) -> Res<Vec<QueueItem>> {
    with_store(&state.store, |store| {
        Ok(queue_ids(store)
            .into_iter()
            .filter_map(|id| id.parse::<RecordId>().ok())
            .map(|id| {
                let (name, health_id) = name_of(store, &id);
                QueueItem { id: id.to_string(), name, health_id }
            })
            .collect())
    })
}

#[tauri::command]
pub async fn add_to_queue(state: State<'_, AppState>, id: String) -> Res<u32> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let id = rid(store, &id, lang)?;
        push_queue(store, &id.to_string()).map_err(store_err(lang))?;
        Ok(queue_ids(store).len() as u32)
    })
}

/// Print `ids` (or, with none, the print queue, which is then emptied) to
/// a PDF in the output folder.
#[tauri::command]
pub async fn print_cards(app: AppHandle, ids: Option<Vec<String>>, layout: PrintLayout) -> Res<Printed> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let lang = state.lang();
        let out = state.out.clone();
        with_store(&state.store, |store| {
            let from_queue = ids.is_none();
            let texts = ids.unwrap_or_else(|| queue_ids(store));
            let rids = texts.iter().map(|t| rid(store, t, lang)).collect::<Res<Vec<_>>>()?;
            let layout = match layout {
                PrintLayout::Card => Layout::Id1,
                PrintLayout::Sheet => Layout::A4Sheet,
            };
            let now = Utc::now();
            let printed = ehcard_field::cards::print_cards(store, &rids, layout, now.timestamp(), &mut |_, _| {})
                .map_err(flow_err(lang))?;
            std::fs::create_dir_all(&out).map_err(|e| AppError::new("io", e.to_string()))?;
            let name = match (&printed.cards[..], layout) {
                ([one], Layout::Id1) => format!("card-{}.pdf", one.health_id.replace(' ', "")),
                _ => format!("cards-{}.pdf", now.format("%Y%m%d-%H%M%S")),
            };
            let path = out.join(name);
            std::fs::write(&path, &printed.pdf).map_err(|e| AppError::new("io", e.to_string()))?;
            if from_queue {
                store.set_setting(QUEUE, "[]").map_err(store_err(lang))?;
            }
            Ok(Printed {
                path: path.display().to_string(),
                cards: printed.cards.len() as u32,
                sheets: if layout == Layout::A4Sheet { printed.sheets() as u32 } else { 0 },
            })
        })
    })
    .await
    .map_err(blocking_failed)?
}

/// Open a printed PDF with the system's viewer, to print it. Only files in
/// the app's output folder can be opened.
#[tauri::command]
pub fn open_printed(state: State<'_, AppState>, path: String) -> Res<()> {
    let out = state.out.canonicalize().map_err(|e| AppError::new("io", e.to_string()))?;
    let file = std::path::Path::new(&path).canonicalize().map_err(|e| AppError::new("io", e.to_string()))?;
    if !file.starts_with(&out) || file.extension().and_then(|e| e.to_str()) != Some("pdf") {
        return Err(AppError::new("not_allowed", "only printed cards can be opened"));
    }
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    std::process::Command::new(opener)
        .arg(&file)
        .spawn()
        .map(|_| ())
        .map_err(|e| AppError::new("no_viewer", format!("no PDF viewer could be started ({opener}): {e}")))
}

/// One button: push, then pull, with `sync-progress` events on the way.
#[tauri::command]
pub async fn sync_now(app: AppHandle) -> Res<SyncReport> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let lang = state.lang();
        with_store(&state.store, |store| {
            let emitter = handle.clone();
            let now = Utc::now().timestamp();
            let summary = ehcard_field::sync(store, now, &mut |p| {
                let _ = emitter.emit(
                    "sync-progress",
                    SyncProgress {
                        phase: p.phase.to_string(),
                        records_up: p.records_up,
                        records_up_total: p.records_up_total,
                        records_down: p.records_down,
                    },
                );
            })
            .map_err(flow_err(lang))?;
            let device = store.device().number.to_string();
            let conflicts = summary
                .conflicts
                .iter()
                .filter_map(|id| id.parse::<RecordId>().ok())
                .filter_map(|id| store.show(&id).ok())
                .map(|r| ConflictItem {
                    id: r.meta.id.to_string(),
                    name: r.display_name(),
                    fields: r.conflicts.iter().map(|c| c.field.clone()).collect(),
                    mine: r.meta.enrolled_device.as_deref() == Some(device.as_str()),
                })
                .collect();
            let report = SyncReport {
                complete: summary.complete,
                pushed: summary.pushed,
                merged: summary.merged,
                unchanged: summary.unchanged,
                pulled: summary.pulled,
                created: summary.created,
                updated: summary.updated,
                still_pending: summary.still_pending,
                bytes_up: summary.bytes_up,
                bytes_down: summary.bytes_down,
                conflicts,
                finished_at: Utc::now().timestamp(),
            };
            if let Ok(json) = serde_json::to_string(&report) {
                let _ = store.set_setting(LAST_REPORT, &json);
            }
            Ok(report)
        })
    })
    .await
    .map_err(blocking_failed)?
}

#[tauri::command]
pub async fn sync_overview(state: State<'_, AppState>) -> Res<SyncOverview> {
    let lang = state.lang();
    with_store(&state.store, |store| {
        let pending = store.pending_count().map_err(store_err(lang))? as u32;
        let outgoing = store.pending(0, 200, 64 * 1024 * 1024).map_err(store_err(lang))?;
        let pending_items = outgoing
            .iter()
            .map(|o| {
                let (name, health_id) = name_of(store, &o.id);
                let state = store.sync_state(&o.id).ok().and_then(|s| serde_json::to_value(s).ok());
                PendingItem {
                    id: o.id.to_string(),
                    name,
                    health_id,
                    sync_state: state.and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                    household: o.kind == RecordKind::Household,
                }
            })
            .collect();
        let last_report = store
            .setting(LAST_REPORT)
            .ok()
            .flatten()
            .and_then(|s| serde_json::from_str::<Value>(&s).ok())
            .and_then(|v| report_from_json(&v));
        Ok(SyncOverview {
            server_url: store.provisioning().ok().flatten().map(|p| p.server_url),
            last_sync_at: ehcard_field::sync::last_sync_at(store).map_err(flow_err(lang))?,
            pending,
            pending_items,
            last_report,
        })
    })
}

fn report_from_json(v: &Value) -> Option<SyncReport> {
    let n = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let conflicts = v
        .get("conflicts")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| ConflictItem {
                    id: c.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
                    name: c.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
                    fields: c
                        .get("fields")
                        .and_then(Value::as_array)
                        .map(|f| f.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
                        .unwrap_or_default(),
                    mine: c.get("mine").and_then(Value::as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    Some(SyncReport {
        complete: v.get("complete")?.as_bool()?,
        pushed: n("pushed"),
        merged: n("merged"),
        unchanged: n("unchanged"),
        pulled: n("pulled"),
        created: n("created"),
        updated: n("updated"),
        still_pending: n("still_pending"),
        bytes_up: n("bytes_up"),
        bytes_down: n("bytes_down"),
        conflicts,
        finished_at: v.get("finished_at").and_then(Value::as_i64).unwrap_or(0),
    })
}

fn decode_b64(data: &str) -> Res<Vec<u8>> {
    let raw = data.split_once(";base64,").map(|(_, b)| b).unwrap_or(data);
    base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|e| AppError::new("bad_file", format!("the file could not be read: {e}")))
}

/// Verify the card(s) in a photo, scan, PDF or QR text (base64 of the file).
#[tauri::command]
pub async fn verify_card(app: AppHandle, data_base64: String) -> Res<Vec<Verdict>> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let lang = state.lang();
        let bytes = decode_b64(&data_base64)?;
        let texts = ehcard_field::cards::qr_texts_in_bytes(&bytes).map_err(flow_err(lang))?;
        if texts.is_empty() || texts.iter().all(String::is_empty) {
            return Err(AppError::flow(ehcard_field::FieldError::NoQrCode, lang));
        }
        let list = with_store(&state.store, |store| {
            ehcard_field::cards::trust_list(Some(store), None, None).map_err(flow_err(lang))
        })?;
        let verdicts = ehcard_field::cards::verify_texts(&texts, &list, Utc::now().timestamp());
        Ok(verdicts
            .into_iter()
            .map(|v| Verdict {
                valid: v.valid,
                reason: v.reason,
                reason_code: v.reason_code,
                health_id: v.card.as_ref().map(|c| c.health_id.clone()),
                name: v.card.as_ref().map(|c| c.full_name()),
                name_hi: v.card.as_ref().and_then(|c| c.name_hi.clone()),
                born: v.card.as_ref().map(|c| born(&c.date_of_birth, c.birth_year)),
                sex: v.card.as_ref().and_then(|c| c.sex.clone()),
                address: v.card.as_ref().map(|c| c.address.clone()).unwrap_or_default(),
                blood_group: v.card.as_ref().and_then(|c| c.clinical.as_ref()).and_then(|c| c.blood_group.clone()),
                allergies: v
                    .card
                    .as_ref()
                    .and_then(|c| c.clinical.as_ref())
                    .map(|c| c.allergies.clone())
                    .unwrap_or_default(),
                kind: v
                    .issue
                    .as_ref()
                    .and_then(|i| serde_json::to_value(i.kind).ok())
                    .and_then(|k| k.as_str().map(str::to_string)),
                signer: v.signer,
                expires_at: v.issue.as_ref().and_then(|i| i.expires_at),
            })
            .collect())
    })
    .await
    .map_err(blocking_failed)?
}

/// The text of the QR code in an image (a provisioning code's QR).
#[tauri::command]
pub async fn scan_code(state: State<'_, AppState>, data_base64: String) -> Res<String> {
    let lang = state.lang();
    let bytes = decode_b64(&data_base64)?;
    let texts = ehcard_field::cards::scan_image(&bytes).map_err(flow_err(lang))?;
    texts.into_iter().next().ok_or_else(|| AppError::flow(ehcard_field::FieldError::NoQrCode, lang))
}
