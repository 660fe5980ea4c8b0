//! The console's administration pages: tablets (provision, list, revoke),
//! staff accounts, electoral-roll uploads (background jobs whose state is
//! in the database) and the audit log. Tablets, accounts and roll import
//! are the administrator's; reviewers may read the audit log.
//!
//! The command line (`ehcard-server device …`, `user …`) shares the same
//! functions ([`tablets::add_tablet`], [`accounts::add_account`], …), so
//! both check input the same way and both write the audit log.

pub mod accounts;
pub mod audit_log;
pub mod tablets;
pub mod uploads;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::{Action, Route};
use crate::api::AppState;

pub const ROUTES: &[Route] = &[
    Route::get("/console/tablets", Action::ManageTablets),
    Route::post("/console/tablets", Action::ManageTablets),
    Route::get("/console/tablets/{id}/revoke", Action::ManageTablets),
    Route::post("/console/tablets/{id}/revoke", Action::ManageTablets),
    Route::get("/console/staff", Action::ManageStaff),
    Route::post("/console/staff", Action::ManageStaff),
    Route::post("/console/staff/{name}/disable", Action::ManageStaff),
    Route::post("/console/staff/{name}/password", Action::ManageStaff),
    Route::get("/console/roll", Action::ImportRoll),
    Route::post("/console/roll", Action::ImportRoll),
    Route::get("/console/roll/jobs/{id}", Action::ImportRoll),
    Route::get("/console/audit", Action::ViewAudit),
];

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tablets", get(tablets::list).post(tablets::provision))
        .route("/tablets/{id}/revoke", get(tablets::confirm_revoke).post(tablets::revoke))
        .route("/staff", get(accounts::list).post(accounts::add))
        .route("/staff/{name}/disable", post(accounts::disable))
        .route("/staff/{name}/password", post(accounts::reset_password_route))
        .route("/roll", get(uploads::page).post(uploads::upload).layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD)))
        .route("/roll/jobs/{id}", get(uploads::job))
        .route("/audit", get(audit_log::page))
}

/// A form's text field: trimmed, empty as none.
pub(crate) fn field(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
