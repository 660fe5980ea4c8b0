//! The dashboard: residents and households by ward, coverage against the
//! roll, tablets and their last sync, today's throughput.

use axum::Router;
use axum::extract::State;
use maud::{Markup, html};

use super::layout::{self, Nav};
use super::{Action, ConsoleError, Ctx, Route};
use crate::api::AppState;

pub const ROUTES: &[Route] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}

pub async fn page(State(_state): State<AppState>, ctx: Ctx) -> Result<Markup, ConsoleError> {
    ctx.require(Action::View)?;
    Ok(layout::page(&ctx, Nav::Dashboard, ctx.t("Dashboard", "डैशबोर्ड"), html! { p { "…" } }))
}
