//! The console's dashboard figures (residents, households and coverage by ward, tablets, throughput).

use super::postgres::PgStore;
use super::sqlite::SqliteStore;

#[async_trait::async_trait]
pub trait DashboardStore {}

#[async_trait::async_trait]
impl DashboardStore for SqliteStore {}

#[async_trait::async_trait]
impl DashboardStore for PgStore {}
