//! The console's administration pages: tablets, staff accounts, roll uploads and the audit log.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;

#[async_trait::async_trait]
pub trait AdminStore {}

#[async_trait::async_trait]
impl AdminStore for SqliteStore {}

#[async_trait::async_trait]
impl AdminStore for PgStore {}
