//! The console's review work: the duplicate queue, card approvals and batch printing.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;

#[async_trait::async_trait]
pub trait ReviewStore {}

#[async_trait::async_trait]
impl ReviewStore for SqliteStore {}

#[async_trait::async_trait]
impl ReviewStore for PgStore {}
