//! The console's search and record view (history, card status, conflicts).

use super::postgres::PgStore;
use super::sqlite::SqliteStore;

#[async_trait::async_trait]
pub trait RecordViews {}

#[async_trait::async_trait]
impl RecordViews for SqliteStore {}

#[async_trait::async_trait]
impl RecordViews for PgStore {}
