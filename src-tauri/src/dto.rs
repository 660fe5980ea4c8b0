//! What crosses the IPC boundary. Every type here derives `ts_rs::TS` and is
//! exported to `ui/src/bindings/` when `cargo test -p ehcard-app` runs, so
//! the TypeScript side never writes these shapes by hand.

use ehcard_core::Lang;
use ehcard_core::validate::FieldError;
use ehcard_field::FieldError as FlowError;
use ehcard_store::{Duplicate, SearchHit, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// A field that failed validation, with its message in the chosen language.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct FieldMessage {
    /// Dotted path, e.g. `address.ward`.
    pub field: String,
    /// Stable rule code, e.g. `required`.
    pub code: String,
    pub message: String,
}

impl FieldMessage {
    pub fn from_errors(errors: &[FieldError], lang: Lang) -> Vec<FieldMessage> {
        errors
            .iter()
            .map(|e| FieldMessage {
                field: e.field.clone(),
                code: e.rule.code().to_string(),
                message: e.rule.message(lang),
            })
            .collect()
    }
}

/// Every command's error: a stable `code` the UI switches on, a message for
/// people, and the details some codes carry.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct AppError {
    pub code: String,
    pub message: String,
    /// `invalid`: the fields at fault.
    pub fields: Vec<FieldMessage>,
    /// `likely_duplicate`: the residents this one may be.
    pub duplicates: Vec<DuplicateView>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AppError { code: code.to_string(), message: message.into(), fields: Vec::new(), duplicates: Vec::new() }
    }

    pub fn invalid(errors: &[FieldError], lang: Lang) -> Self {
        AppError {
            fields: FieldMessage::from_errors(errors, lang),
            ..AppError::new("invalid", "the record is not valid")
        }
    }

    pub fn store(e: StoreError, lang: Lang) -> Self {
        match e {
            StoreError::Invalid(errors) => AppError::invalid(&errors, lang),
            StoreError::LikelyDuplicate(found) => AppError {
                duplicates: found.into_iter().map(DuplicateView::from).collect(),
                ..AppError::new("likely_duplicate", "this resident may already be enrolled")
            },
            other => AppError::new(other.code(), other.to_string()),
        }
    }

    pub fn flow(e: FlowError, lang: Lang) -> Self {
        let code = e.code().to_string();
        match e {
            FlowError::Store(s) => AppError::store(s, lang),
            other => AppError::new(&code, other.to_string()),
        }
    }
}

/// Whether the app has a store and whether it is unlocked.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct AppStatus {
    pub provisioned: bool,
    pub unlocked: bool,
    pub device_label: Option<String>,
    pub device_number: Option<String>,
    pub wards: Vec<u16>,
    pub server_url: Option<String>,
    pub data_dir: String,
}

/// One ward's residents on the device.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct WardCount {
    pub ward: u16,
    pub residents: u32,
}

/// The home screen.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Home {
    pub device_label: String,
    pub residents: u32,
    pub households: u32,
    pub enrolled_today: u32,
    /// Residents confirmed at the door or enrolled in the field.
    pub confirmed: u32,
    /// Roll entries still to confirm.
    pub unverified: u32,
    pub moved_or_gone: u32,
    pub pending_upload: u32,
    pub with_conflicts: u32,
    pub by_ward: Vec<WardCount>,
    /// Seconds since the epoch of the last complete sync.
    #[ts(type = "number | null")]
    pub last_sync_at: Option<i64>,
    pub print_queue: u32,
}

/// A resident in a list (search results, household members).
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Person {
    pub id: String,
    pub health_id: Option<String>,
    pub given_name: String,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    #[ts(type = "number | null")]
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    #[ts(type = "number | null")]
    pub ward: Option<i64>,
    pub household_id: Option<String>,
    pub status: Option<String>,
    pub relation: Option<String>,
    /// How a search found it: `health_id`, `phone`, `voter_id`, `name`.
    pub matched: String,
}

impl From<SearchHit> for Person {
    fn from(h: SearchHit) -> Self {
        let matched = serde_json::to_value(h.matched).ok().and_then(|v| v.as_str().map(str::to_string));
        Person {
            id: h.id,
            health_id: h.health_id,
            given_name: h.given_name,
            family_name: h.family_name,
            name_hi: h.name_hi,
            sex: h.sex,
            birth_year: h.birth_year,
            phone: h.phone,
            voter_id: h.voter_id,
            ward: h.ward,
            household_id: h.household_id,
            status: h.status,
            relation: h.relation,
            matched: matched.unwrap_or_default(),
        }
    }
}

/// A household in the ward's list.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdItem {
    pub id: String,
    #[ts(type = "number | null")]
    pub ward: Option<i64>,
    pub address: String,
    pub head_name: Option<String>,
    #[ts(type = "number")]
    pub members: i64,
    #[ts(type = "number")]
    pub unverified: i64,
}

/// A household and its members.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct HouseholdView {
    /// The household record as record format v1 JSON.
    #[ts(type = "Record<string, unknown>")]
    pub household: Value,
    pub members: Vec<Person>,
}

/// A record as record format v1 JSON with where it stands with the server.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct RecordView {
    #[ts(type = "Record<string, unknown>")]
    pub record: Value,
    /// `local_only`, `changed` or `merged`.
    pub sync_state: String,
    pub has_photo: bool,
}

/// Why two residents look alike.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct ReasonView {
    pub code: String,
    pub detail: String,
}

/// A resident on the device who may be the one being enrolled.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct DuplicateView {
    pub id: String,
    pub health_id: Option<String>,
    pub given_name: String,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    pub date_of_birth: Option<String>,
    #[ts(type = "number | null")]
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    #[ts(type = "number | null")]
    pub ward: Option<i64>,
    pub relative_name: Option<String>,
    pub status: Option<String>,
    pub score: f32,
    pub reasons: Vec<ReasonView>,
}

impl From<Duplicate> for DuplicateView {
    fn from(d: Duplicate) -> Self {
        let reasons = d
            .reasons
            .iter()
            .map(|r| ReasonView {
                code: serde_json::to_value(r.code)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                detail: r.detail.clone(),
            })
            .collect();
        DuplicateView {
            id: d.id,
            health_id: d.health_id,
            given_name: d.given_name,
            family_name: d.family_name,
            name_hi: d.name_hi,
            sex: d.sex,
            date_of_birth: d.date_of_birth,
            birth_year: d.birth_year,
            phone: d.phone,
            voter_id: d.voter_id,
            ward: d.ward,
            relative_name: d.relative_name,
            status: d.status,
            score: d.score,
            reasons,
        }
    }
}

/// A resident saved.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Saved {
    pub id: String,
    pub health_id: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    pub record: Value,
}

/// A card as it will print: data and QR modules.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct CardPreview {
    pub health_id: String,
    pub name: String,
    pub name_hi: Option<String>,
    pub born: String,
    pub sex: Option<String>,
    pub address: Vec<String>,
    pub phone: Option<String>,
    pub blood_group: Option<String>,
    pub allergies: Vec<String>,
    pub chronic_conditions: Vec<String>,
    pub emergency: Option<String>,
    pub clinical_shared: bool,
    pub qr_width: u32,
    /// Row-major modules, `true` dark.
    pub qr_dark: Vec<bool>,
    #[ts(type = "number")]
    pub expires_at: i64,
}

/// PDF cards written to disk.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Printed {
    pub path: String,
    pub cards: u32,
    pub sheets: u32,
}

/// Which layout to print.
#[derive(Debug, Clone, Copy, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub enum PrintLayout {
    /// One ID-1 card, front and back.
    Card,
    /// A4 sheets of ten with cut marks.
    Sheet,
}

/// Where a sync is.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncProgress {
    /// `push` or `pull`.
    pub phase: String,
    #[ts(type = "number")]
    pub records_up: u64,
    #[ts(type = "number")]
    pub records_up_total: u64,
    #[ts(type = "number")]
    pub records_down: u64,
}

/// A record a sync reported with conflicting values.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct ConflictItem {
    pub id: String,
    pub name: String,
    pub fields: Vec<String>,
    /// Enrolled or last edited on this device.
    pub mine: bool,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncReport {
    pub complete: bool,
    #[ts(type = "number")]
    pub pushed: u64,
    #[ts(type = "number")]
    pub merged: u64,
    #[ts(type = "number")]
    pub unchanged: u64,
    #[ts(type = "number")]
    pub pulled: u64,
    #[ts(type = "number")]
    pub created: u64,
    #[ts(type = "number")]
    pub updated: u64,
    #[ts(type = "number")]
    pub still_pending: u64,
    #[ts(type = "number")]
    pub bytes_up: u64,
    #[ts(type = "number")]
    pub bytes_down: u64,
    pub conflicts: Vec<ConflictItem>,
    #[ts(type = "number")]
    pub finished_at: i64,
}

/// A record still to send.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct PendingItem {
    pub id: String,
    pub name: String,
    pub health_id: Option<String>,
    /// `local_only` or `changed`.
    pub sync_state: String,
    pub household: bool,
}

/// The sync screen before a sync.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct SyncOverview {
    pub server_url: Option<String>,
    #[ts(type = "number | null")]
    pub last_sync_at: Option<i64>,
    pub pending: u32,
    /// Up to 200 of them, with names.
    pub pending_items: Vec<PendingItem>,
    pub last_report: Option<SyncReport>,
}

/// The verdict on one card.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct Verdict {
    pub valid: bool,
    pub reason: Option<String>,
    pub reason_code: Option<String>,
    pub health_id: Option<String>,
    pub name: Option<String>,
    pub name_hi: Option<String>,
    pub born: Option<String>,
    pub sex: Option<String>,
    pub address: Vec<String>,
    pub blood_group: Option<String>,
    pub allergies: Vec<String>,
    pub kind: Option<String>,
    pub signer: Option<String>,
    #[ts(type = "number | null")]
    pub expires_at: Option<i64>,
}

/// A resident waiting in the print queue.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub struct QueueItem {
    pub id: String,
    pub name: String,
    pub health_id: Option<String>,
}
