//! Staff accounts: list, add (the command line's rules: `staff::check_name`,
//! Argon2id, at least `MIN_PASSWORD` characters), disable (which ends the
//! account's sessions at once) and reset a password (which ends them too).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::field;
use crate::api::AppState;
use crate::console::layout::{self, Lang, Nav, csrf_field, fmt_time, notice, role_label, url_encode};
use crate::console::{ConsoleError, Ctx};
use crate::dedup::NewAudit;
use crate::staff::{self, MIN_PASSWORD, Role, Staff, StaffError};
use crate::store::{DynStore, StoreError};

/// Why an account cannot be changed as asked.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Staff(#[from] StaffError),
    #[error("no staff account {0:?}")]
    Unknown(String),
    #[error("staff account {0:?} is disabled")]
    Disabled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl AccountError {
    /// What is wrong, in the staff member's language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            AccountError::Staff(StaffError::BadName) => lang
                .t(
                    "A staff name is 3 to 40 letters, digits, dots, dashes or underscores (no spaces).",
                    "स्टाफ़ नाम 3 से 40 अक्षरों, अंकों, बिंदु, डैश या अंडरस्कोर का होता है (खाली जगह नहीं)।",
                )
                .into(),
            AccountError::Staff(StaffError::WeakPassword(n)) => format!(
                "{} {n} {}",
                lang.t("The password must have at least", "पासवर्ड में कम से कम"),
                lang.t(
                    "characters. A short sentence is easy to remember.",
                    "अक्षर होने चाहिए। एक छोटा वाक्य याद रखना आसान है।"
                )
            ),
            AccountError::Unknown(n) => {
                format!("{} {n:?}", lang.t("There is no staff account", "ऐसा कोई स्टाफ़ खाता नहीं है:"))
            }
            AccountError::Disabled(n) => format!(
                "{} {n:?} {}",
                lang.t("The account", "खाता"),
                lang.t("is disabled; its password cannot be changed.", "बंद है; उसका पासवर्ड नहीं बदला जा सकता।")
            ),
            AccountError::Store(StoreError::Refused(m)) if m.contains("already") => {
                lang.t("There is already an account with that name.", "इस नाम का खाता पहले से है।").into()
            }
            other => other.to_string(),
        }
    }
}

/// Add an account and audit it (as `action` by `actor`).
pub async fn add_account(
    store: &DynStore,
    name: &str,
    role: Role,
    password: &str,
    actor: &str,
    action: &str,
    now: i64,
) -> Result<Staff, AccountError> {
    staff::check_name(name)?;
    let password = password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || staff::hash_password(&password))
        .await
        .map_err(|e| StoreError::Database(format!("worker: {e}")))??;
    let s = store
        .add_staff(Staff { name: name.to_string(), role, password_hash, created_at: now, disabled_at: None })
        .await?;
    store
        .audit(NewAudit {
            at: now,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: s.name.clone(),
            detail: serde_json::json!({"role": s.role}),
        })
        .await?;
    Ok(s)
}

/// Disable an account, end its sessions, and audit it.
pub async fn disable_account(
    store: &DynStore,
    name: &str,
    actor: &str,
    action: &str,
    now: i64,
) -> Result<Staff, AccountError> {
    let before = store.staff(name).await?.ok_or_else(|| AccountError::Unknown(name.to_string()))?;
    let s = store.disable_staff(name, now).await?;
    let sessions = store.end_sessions_of(name).await?;
    if before.disabled_at.is_none() {
        store
            .audit(NewAudit {
                at: now,
                actor: actor.to_string(),
                action: action.to_string(),
                subject: s.name.clone(),
                detail: serde_json::json!({"sessions_ended": sessions}),
            })
            .await?;
    }
    Ok(s)
}

/// Set a new password for an active account, end its sessions, and audit it.
pub async fn reset_password(
    store: &DynStore,
    name: &str,
    password: &str,
    actor: &str,
    action: &str,
    now: i64,
) -> Result<Staff, AccountError> {
    let s = store.staff(name).await?.ok_or_else(|| AccountError::Unknown(name.to_string()))?;
    if s.disabled_at.is_some() {
        return Err(AccountError::Disabled(name.to_string()));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || staff::hash_password(&password))
        .await
        .map_err(|e| StoreError::Database(format!("worker: {e}")))??;
    let s = store.set_staff_password(name, &hash).await?;
    let sessions = store.end_sessions_of(name).await?;
    store
        .audit(NewAudit {
            at: now,
            actor: actor.to_string(),
            action: action.to_string(),
            subject: s.name.clone(),
            detail: serde_json::json!({"sessions_ended": sessions}),
        })
        .await?;
    Ok(s)
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// GET /console/staff: every account (staff number in the tens or hundreds).
pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> Result<Markup, ConsoleError> {
    let accounts = state.store.staff_list().await.map_err(|e| ConsoleError::store(&ctx, e))?;
    // The notice names an account that exists (nothing from the address is echoed).
    let named = field(&q.name).and_then(|n| accounts.iter().find(|s| s.name == n));
    let done = match (field(&q.done), named) {
        (Some("added"), Some(s)) => Some(format!(
            "{} {} ({}) {}",
            ctx.t("Account", "खाता"),
            s.name,
            role_label(ctx.lang, s.role),
            ctx.t("was added. Give them the password in person.", "जोड़ा गया। पासवर्ड उन्हें स्वयं दें।")
        )),
        (Some("disabled"), Some(s)) => Some(format!(
            "{} {} {}",
            ctx.t("Account", "खाता"),
            s.name,
            ctx.t(
                "is disabled: its sessions have ended and it can no longer sign in.",
                "बंद किया गया: उसके सत्र समाप्त हो गए और अब वह साइन इन नहीं कर सकता।"
            )
        )),
        (Some("password"), Some(s)) => Some(format!(
            "{} {}{} {}",
            ctx.t("The password of", "खाते"),
            s.name,
            ctx.t(" was changed.", " का पासवर्ड बदला गया।"),
            ctx.t("Its open sessions have ended.", "उसके खुले सत्र समाप्त हो गए।")
        )),
        _ => None,
    };
    let body = html! {
        @if let Some(n) = &done { (notice(n)) }
        table.staff {
            thead { tr {
                th { (ctx.t("Name", "नाम")) }
                th { (ctx.t("Role", "भूमिका")) }
                th { (ctx.t("Created", "बनाया गया")) }
                th { (ctx.t("Status", "स्थिति")) }
                th { (ctx.t("Actions", "कार्य")) }
            } }
            tbody {
                @for s in &accounts {
                    tr data-staff=(s.name) {
                        td { (s.name) @if s.name == ctx.staff.name { " " span.muted { (ctx.t("(you)", "(आप)")) } } }
                        td { (role_label(ctx.lang, s.role)) }
                        td { (fmt_time(s.created_at)) }
                        td {
                            @match s.disabled_at {
                                Some(t) => { span.badge.bad { (ctx.t("disabled", "बंद")) } " " (fmt_time(t)) }
                                None => { span.badge.ok { (ctx.t("active", "सक्रिय")) } }
                            }
                        }
                        td.actions {
                            @if s.disabled_at.is_none() && s.name != ctx.staff.name {
                                form.inline method="post" action=(format!("/console/staff/{}/disable", url_encode(&s.name)))
                                    data-confirm=(format!("{} {}? {}", ctx.t("Disable", "बंद करें:"), s.name,
                                        ctx.t("They are signed out at once.", "वे तुरंत साइन आउट हो जाएँगे।"))) {
                                    (csrf_field(&ctx))
                                    button.danger type="submit" { (ctx.t("Disable", "बंद करें")) }
                                }
                                details.reset {
                                    summary { (ctx.t("Reset password", "पासवर्ड बदलें")) }
                                    form.stack method="post" action=(format!("/console/staff/{}/password", url_encode(&s.name))) {
                                        (csrf_field(&ctx))
                                        label for=(format!("pw-{}", s.name)) { (ctx.t("New password", "नया पासवर्ड")) }
                                        input id=(format!("pw-{}", s.name)) name="password" type="password"
                                            minlength=(MIN_PASSWORD) required autocomplete="new-password";
                                        button type="submit" { (ctx.t("Set password", "पासवर्ड तय करें")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.add-staff {
            h2 { (ctx.t("Add an account", "नया खाता जोड़ें")) }
            form.stack method="post" action="/console/staff" {
                (csrf_field(&ctx))
                label for="name" { (ctx.t("Name (3–40 letters, digits, . - _)", "नाम (3–40 अक्षर, अंक, . - _)")) }
                input #name name="name" required minlength="3" maxlength="40" pattern="[A-Za-z0-9._\\-]{3,40}" autocomplete="off";
                label for="role" { (ctx.t("Role", "भूमिका")) }
                select #role name="role" required {
                    @for r in [Role::Viewer, Role::Reviewer, Role::Admin] {
                        option value=(r.as_str()) { (role_label(ctx.lang, r)) }
                    }
                }
                p.hint { (ctx.t(
                    "Viewer: reads the registry. Reviewer: also resolves duplicates and conflicts and approves cards. Administrator: everything, including tablets, accounts and the roll.",
                    "दर्शक: रजिस्ट्री देखता है। समीक्षक: डुप्लिकेट और टकराव सुलझाता है, कार्ड स्वीकृत करता है। व्यवस्थापक: सब कुछ, टैबलेट, खाते और मतदाता सूची भी।"
                )) }
                label for="password" { (ctx.t("Initial password", "शुरुआती पासवर्ड")) " " span.muted { "(" (ctx.t("at least", "कम से कम")) " " (MIN_PASSWORD) " " (ctx.t("characters", "अक्षर")) ")" } }
                input #password name="password" type="password" required minlength=(MIN_PASSWORD) autocomplete="new-password";
                button.primary type="submit" { (ctx.t("Add account", "खाता जोड़ें")) }
            }
        }
    };
    Ok(layout::page(&ctx, Nav::Staff, ctx.t("Staff accounts", "स्टाफ़ खाते"), body))
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

fn refused(ctx: &Ctx, e: AccountError) -> ConsoleError {
    match e {
        AccountError::Store(StoreError::Refused(_))
        | AccountError::Staff(_)
        | AccountError::Unknown(_)
        | AccountError::Disabled(_) => ConsoleError::bad(ctx, e.message(ctx.lang)),
        AccountError::Store(e) => ConsoleError::store(ctx, e),
    }
}

/// POST /console/staff: add an account.
pub async fn add(State(state): State<AppState>, ctx: Ctx, Form(f): Form<AddForm>) -> Result<Response, ConsoleError> {
    let name = f.name.as_deref().unwrap_or("").trim().to_string();
    let role = f.role.as_deref().and_then(Role::parse).ok_or_else(|| {
        ConsoleError::bad(
            &ctx,
            ctx.t("Choose a role: viewer, reviewer or administrator.", "भूमिका चुनें: दर्शक, समीक्षक या व्यवस्थापक।"),
        )
    })?;
    let password = f.password.unwrap_or_default();
    let s = add_account(&state.store, &name, role, &password, &ctx.staff.name, "console.staff_add", ctx.now)
        .await
        .map_err(|e| refused(&ctx, e))?;
    Ok(Redirect::to(&format!("/console/staff?done=added&name={}", url_encode(&s.name))).into_response())
}

/// The account a path names (a valid name of an existing account).
async fn account_of(state: &AppState, ctx: &Ctx, name: &str) -> Result<Staff, ConsoleError> {
    let missing = || ConsoleError::not_found(ctx, ctx.t("There is no such staff account.", "ऐसा कोई स्टाफ़ खाता नहीं है।"));
    if staff::check_name(name).is_err() {
        return Err(missing());
    }
    state.store.staff(name).await.map_err(|e| ConsoleError::store(ctx, e))?.ok_or_else(missing)
}

/// POST /console/staff/{name}/disable: disable an account (not your own).
pub async fn disable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Result<Response, ConsoleError> {
    let s = account_of(&state, &ctx, &name).await?;
    if s.name == ctx.staff.name {
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t(
                "You cannot disable your own account. Another administrator can.",
                "आप अपना खाता बंद नहीं कर सकते। कोई दूसरा व्यवस्थापक कर सकता है।",
            ),
        ));
    }
    disable_account(&state.store, &s.name, &ctx.staff.name, "console.staff_disable", ctx.now)
        .await
        .map_err(|e| refused(&ctx, e))?;
    Ok(Redirect::to(&format!("/console/staff?done=disabled&name={}", url_encode(&s.name))).into_response())
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: Option<String>,
}

/// POST /console/staff/{name}/password: set a new password; the account's
/// sessions end (your own included: sign in again with the new one).
pub async fn reset_password_handler(
    state: &AppState,
    ctx: &Ctx,
    name: &str,
    password: &str,
) -> Result<Staff, ConsoleError> {
    let s = account_of(state, ctx, name).await?;
    reset_password(&state.store, &s.name, password, &ctx.staff.name, "console.staff_password", ctx.now)
        .await
        .map_err(|e| refused(ctx, e))
}

pub async fn reset_password_route(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Result<Response, ConsoleError> {
    let s = reset_password_handler(&state, &ctx, &name, f.password.as_deref().unwrap_or("")).await?;
    Ok(Redirect::to(&format!("/console/staff?done=password&name={}", url_encode(&s.name))).into_response())
}
