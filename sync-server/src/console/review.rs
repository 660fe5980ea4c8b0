use axum::Router;

use super::Route;
use crate::api::AppState;

pub const ROUTES: &[Route] = &[];

pub fn routes() -> Router<AppState> {
    Router::new()
}
