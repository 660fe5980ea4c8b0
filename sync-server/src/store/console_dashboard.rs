//! The console's dashboard figures: residents, households and coverage by
//! ward, today's throughput. (Tablets come from [`RegistryStore::devices`].)
//!
//! Each figure is one aggregate query the indexes of `0005_console.sql`
//! answer without reading resident rows: `residents_console` covers the
//! ward/roll/status/conflict counts, `residents_field_id` today's field
//! enrollments (record ids are UUIDv7, so a day is a range of ids), and
//! `feed_tablets_received` today's tablet traffic.
//!
//! [`RegistryStore::devices`]: super::RegistryStore::devices

use std::collections::BTreeMap;

use rusqlite::params;
use serde::Serialize;

use super::StoreError;
use super::postgres::PgStore;
use super::sqlite::SqliteStore;

/// `enrolled_by` of the residents the electoral-roll import made.
const ROLL: &str = crate::roll::ENROLLED_BY;

/// One ward's figures (or the city's, summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WardFigures {
    /// 0 for the city total.
    pub ward: i64,
    /// Residents not merged into another record.
    pub residents: i64,
    pub households: i64,
    /// Enrolled in the field (not made by the roll import).
    pub field: i64,
    /// Roll rows (residents the roll import made, not merged away).
    pub roll: i64,
    /// Roll rows a field worker confirmed (`verified`).
    pub confirmed: i64,
    /// Roll rows nobody has visited yet (`unverified`).
    pub unverified: i64,
    /// Roll rows found moved, deceased or not found.
    pub gone: i64,
    /// Residents with fields in conflict.
    pub conflicts: i64,
    /// Candidate duplicate pairs waiting for a reviewer.
    pub pending_pairs: i64,
}

impl WardFigures {
    /// Conflicts and duplicate pairs waiting for a reviewer.
    pub fn pending_review(&self) -> i64 {
        self.conflicts + self.pending_pairs
    }

    /// Confirmed roll rows in tenths of a percent (0-1000); none without a roll.
    pub fn coverage_permille(&self) -> Option<i64> {
        (self.roll > 0).then(|| self.confirmed * 1000 / self.roll)
    }

    fn add(&mut self, o: &WardFigures) {
        self.residents += o.residents;
        self.households += o.households;
        self.field += o.field;
        self.roll += o.roll;
        self.confirmed += o.confirmed;
        self.unverified += o.unverified;
        self.gone += o.gone;
        self.conflicts += o.conflicts;
        self.pending_pairs += o.pending_pairs;
    }

    /// Count `n` residents of one (roll?, status, conflicts) group.
    fn count(&mut self, roll: bool, status: Option<&str>, conflicts: bool, n: i64) {
        self.residents += n;
        if conflicts {
            self.conflicts += n;
        }
        if !roll {
            self.field += n;
            return;
        }
        self.roll += n;
        match status {
            // A record without a status counts as verified (`model::STATUSES`).
            Some("verified") | None => self.confirmed += n,
            Some("unverified") => self.unverified += n,
            Some(_) => self.gone += n,
        }
    }
}

/// What the dashboard shows but the tablets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// Every ward with residents, households or pending pairs, by number.
    pub wards: Vec<WardFigures>,
    /// The city: the sum of the wards.
    pub total: WardFigures,
    /// Feed entries tablets sent since the day began, by hour (24).
    pub received_by_hour: Vec<i64>,
    /// Residents enrolled in the field since the day began (by record id time).
    pub enrolled_today: i64,
}

impl Dashboard {
    pub fn received_today(&self) -> i64 {
        self.received_by_hour.iter().sum()
    }
}

/// Raw rows, whatever the database, turned into a [`Dashboard`].
#[derive(Default)]
struct Parts {
    by_ward: BTreeMap<i64, WardFigures>,
    hours: Vec<i64>,
    enrolled_today: i64,
}

impl Parts {
    fn ward(&mut self, ward: i64) -> &mut WardFigures {
        self.by_ward.entry(ward).or_insert_with(|| WardFigures { ward, ..WardFigures::default() })
    }

    fn hour(&mut self, hour: i64, n: i64) {
        if self.hours.len() < 24 {
            self.hours.resize(24, 0);
        }
        if let Some(h) = usize::try_from(hour).ok().and_then(|h| self.hours.get_mut(h)) {
            *h += n;
        }
    }

    fn finish(mut self) -> Dashboard {
        self.hours.resize(24, 0);
        let mut total = WardFigures::default();
        let wards: Vec<WardFigures> = self.by_ward.into_values().collect();
        for w in &wards {
            total.add(w);
        }
        Dashboard { wards, total, received_by_hour: self.hours, enrolled_today: self.enrolled_today }
    }
}

/// The smallest UUIDv7 (as text) made at `unix` seconds: ids of records made
/// from that moment on sort at or after it.
pub fn uuid7_floor(unix: i64) -> String {
    let ms = u64::try_from(unix).unwrap_or(0).saturating_mul(1000) & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}-0000-0000-000000000000", ms >> 16, ms & 0xffff)
}

const DAY: i64 = 86_400;

// In the order of `residents_console`, so the groups stream off the index.
const SQL_RESIDENTS: &str = "SELECT ward, enrolled_by, status, has_conflicts, count(*)
     FROM residents WHERE merged_into IS NULL GROUP BY ward, enrolled_by, status, has_conflicts";
const SQL_HOUSEHOLDS: &str = "SELECT ward, count(*) FROM households GROUP BY ward";
// `ward` is set by a trigger when the pair is found (`0005_console.sql`).
const SQL_PAIRS: &str = "SELECT ward, count(*) FROM duplicate_pairs WHERE status = 'pending' GROUP BY ward";
// The conditions of the partial indexes are literals here, as in the index
// (a parameter would not prove them); a test checks they match the constants.
const SQL_HOURS: &str = "SELECT (received_at - $1) / 3600, count(*) FROM feed
     WHERE device_id <> 'registry' AND received_at >= $1 AND received_at < $2 GROUP BY (received_at - $1) / 3600";
const SQL_ENROLLED: &str =
    "SELECT count(*) FROM residents WHERE enrolled_by <> 'electoral-roll' AND id >= $1 AND id < $2";

#[async_trait::async_trait]
pub trait DashboardStore {
    /// The figures by ward and for the city, and the traffic of the day
    /// that began at `day_start` (unix seconds; the day is 24 hours long).
    async fn dashboard(&self, day_start: i64) -> Result<Dashboard, StoreError>;
}

/// SQLite's placeholders are `?N`, not `$N`.
fn sqlite_sql(sql: &str) -> String {
    sql.replace('$', "?")
}

#[async_trait::async_trait]
impl DashboardStore for SqliteStore {
    async fn dashboard(&self, day_start: i64) -> Result<Dashboard, StoreError> {
        self.run(move |conn| {
            let mut p = Parts::default();
            let mut st = conn.prepare_cached(SQL_RESIDENTS)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                let (ward, by, status, conflicts, n): (i64, Option<String>, Option<String>, bool, i64) =
                    (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                p.ward(ward).count(by.as_deref() == Some(ROLL), status.as_deref(), conflicts, n);
            }
            drop(rows);
            let mut st = conn.prepare_cached(SQL_HOUSEHOLDS)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                p.ward(r.get(0)?).households += r.get::<_, i64>(1)?;
            }
            drop(rows);
            let mut st = conn.prepare_cached(SQL_PAIRS)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                // A pair whose resident was gone when it was found: ward 0.
                p.ward(r.get::<_, Option<i64>>(0)?.unwrap_or(0)).pending_pairs += r.get::<_, i64>(1)?;
            }
            drop(rows);
            let mut st = conn.prepare_cached(&sqlite_sql(SQL_HOURS))?;
            let mut rows = st.query(params![day_start, day_start + DAY])?;
            while let Some(r) = rows.next()? {
                p.hour(r.get(0)?, r.get(1)?);
            }
            drop(rows);
            p.enrolled_today = conn
                .prepare_cached(&sqlite_sql(SQL_ENROLLED))?
                .query_row(params![uuid7_floor(day_start), uuid7_floor(day_start + DAY)], |r| r.get(0))?;
            Ok(p.finish())
        })
        .await
    }
}

#[async_trait::async_trait]
impl DashboardStore for PgStore {
    async fn dashboard(&self, day_start: i64) -> Result<Dashboard, StoreError> {
        // The queries are independent: each on its own connection, at once.
        let residents = async {
            let c = self.pool.get().await?;
            Ok::<_, StoreError>(c.query(SQL_RESIDENTS, &[]).await?)
        };
        let households = async {
            let c = self.pool.get().await?;
            let rows = c.query(SQL_HOUSEHOLDS, &[]).await?;
            let pairs = c.query(SQL_PAIRS, &[]).await?;
            let hours = c.query(SQL_HOURS, &[&day_start, &(day_start + DAY)]).await?;
            let (lo, hi) = (uuid7_floor(day_start), uuid7_floor(day_start + DAY));
            let enrolled: i64 = c.query_one(SQL_ENROLLED, &[&lo, &hi]).await?.get(0);
            Ok::<_, StoreError>((rows, pairs, hours, enrolled))
        };
        let (residents, (households, pairs, hours, enrolled)) = tokio::try_join!(residents, households)?;
        let mut p = Parts::default();
        for r in residents {
            let (ward, by, status, conflicts, n): (i32, Option<String>, Option<String>, bool, i64) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            p.ward(i64::from(ward)).count(by.as_deref() == Some(ROLL), status.as_deref(), conflicts, n);
        }
        for r in households {
            p.ward(i64::from(r.get::<_, i32>(0))).households += r.get::<_, i64>(1);
        }
        for r in pairs {
            p.ward(i64::from(r.get::<_, Option<i32>>(0).unwrap_or(0))).pending_pairs += r.get::<_, i64>(1);
        }
        for r in hours {
            p.hour(r.get(0), r.get(1));
        }
        p.enrolled_today = enrolled;
        Ok(p.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_name_what_the_partial_indexes_cover() {
        assert!(SQL_ENROLLED.contains(&format!("enrolled_by <> '{ROLL}'")));
        assert_eq!(crate::roll::FEED_DEVICE, crate::dedup::FEED_DEVICE);
        assert!(SQL_HOURS.contains(&format!("device_id <> '{}'", crate::roll::FEED_DEVICE)));
        for sql in [
            include_str!("../../../schema/migrations/server-sqlite/0005_console.sql"),
            include_str!("../../../schema/migrations/server-postgres/0005_console.sql"),
        ] {
            assert!(sql.contains(&format!("WHERE enrolled_by <> '{ROLL}'")));
            assert!(sql.contains(&format!("WHERE device_id <> '{}'", crate::roll::FEED_DEVICE)));
        }
    }

    #[test]
    fn a_day_of_record_ids_is_a_range() {
        // 2026-11-28T00:00:00Z, and a v7 id made a moment later.
        let day = 1_795_824_000;
        let floor = uuid7_floor(day);
        assert_eq!(floor.len(), 36);
        let mut e = ehcard_core::SeededEntropy::new(1);
        let id = ehcard_core::RecordId::new_v7(day as u64 * 1000 + 5, &mut e).to_string();
        assert!(floor.as_str() <= id.as_str() && id.as_str() < uuid7_floor(day + DAY).as_str(), "{floor} {id}");
        let before = ehcard_core::RecordId::new_v7(day as u64 * 1000 - 1, &mut e).to_string();
        assert!(before < floor);
    }

    #[test]
    fn groups_add_up_by_kind_of_resident() {
        let mut p = Parts::default();
        p.ward(12).count(true, Some("unverified"), false, 30);
        p.ward(12).count(true, Some("verified"), true, 5);
        p.ward(12).count(true, Some("moved"), false, 2);
        p.ward(12).count(true, Some("deceased"), false, 1);
        p.ward(12).count(false, None, false, 4);
        p.ward(3).households += 7;
        p.ward(12).pending_pairs += 1;
        p.hour(5, 3);
        p.hour(99, 1);
        let d = p.finish();
        assert_eq!(d.wards.iter().map(|w| w.ward).collect::<Vec<_>>(), [3, 12]);
        let w = d.wards[1];
        assert_eq!((w.residents, w.roll, w.confirmed, w.unverified, w.gone, w.field), (42, 38, 5, 30, 3, 4));
        assert_eq!(w.pending_review(), 6);
        assert_eq!(w.coverage_permille(), Some(5 * 1000 / 38));
        assert_eq!(d.wards[0].coverage_permille(), None);
        assert_eq!(d.total.households, 7);
        assert_eq!(d.total.residents, 42);
        assert_eq!(d.received_by_hour.len(), 24);
        assert_eq!(d.received_today(), 3);
    }
}
