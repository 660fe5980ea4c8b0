//! The console's search and record view (history, card status, conflicts).
//!
//! Search is a list of *branches* (say: given names starting with the
//! query, then family names starting with it), each a range scan on an
//! index in the order the index keeps (`0005_console.sql`, "search and
//! record view"). A page is read branch after branch with LIMIT/OFFSET, a
//! later branch leaving out what an earlier one matched, so no query reads
//! more than the page (and the capped offset) however many residents match.

use rusqlite::{OptionalExtension, params_from_iter};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{StoreError, Write};
use crate::dedup::NewAudit;

/// The most results a search pages through (refine the query for more).
pub const MAX_OFFSET: u32 = 1000;
/// The most feed entries shown as a record's history (the newest).
pub const HISTORY_ROWS: u32 = 200;
/// The most members or merged records listed on a record's page.
const MAX_LISTED: u32 = 100;

/// What a search looks for (see `console::records::classify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// Nothing typed: the ward's residents (with a ward), or nothing.
    Everyone,
    /// A 12-digit eHealth ID (compact).
    HealthId(String),
    /// A record id.
    RecordId(String),
    /// A 10-digit mobile number.
    Phone(String),
    /// The start of a voter id (EPIC), upper case.
    VoterId(String),
    /// Words of a name, lower case: one word is the start of a given or
    /// family name; several are the start of the given name and of the
    /// family name (the last word), or the start of a full given name.
    Name(Vec<String>),
    /// The start of a name in Devanagari (`name_hi`, or a given or family
    /// name written in Devanagari).
    Devanagari(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    pub search: Search,
    pub ward: Option<i64>,
    pub offset: u32,
    pub limit: u32,
}

/// A resident as a list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResidentRow {
    pub id: String,
    pub ward: i64,
    pub health_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    pub has_conflicts: bool,
    pub status: Option<String>,
    pub merged_into: Option<String>,
    pub household_id: Option<String>,
    pub enrolled_by: Option<String>,
    /// The household's address (house, street, locality), when it has one.
    pub address: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    pub rows: Vec<ResidentRow>,
    /// Another page follows.
    pub more: bool,
}

/// One entry of a record's change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    pub seq: i64,
    pub device_id: String,
    pub received_at: i64,
    /// The document's heads after this entry (hex).
    pub heads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName {
    pub id: String,
    pub number: u32,
    pub label: String,
}

/// A record's approval for a permanent card (`card_approvals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub approved_by: String,
    pub approved_at: i64,
    pub printed_at: Option<i64>,
    pub printed_by: Option<String>,
    pub print_count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdRow {
    pub id: String,
    pub ward: i64,
    pub house: Option<String>,
    pub street: Option<String>,
    pub locality: Option<String>,
    pub head_id: Option<String>,
    pub members: i64,
}

impl HouseholdRow {
    pub fn address(&self) -> Option<String> {
        address_of(self.house.as_deref(), self.street.as_deref(), self.locality.as_deref())
    }
}

fn address_of(house: Option<&str>, street: Option<&str>, locality: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [house, street, locality].into_iter().flatten().filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Everything a record's page shows, as stored.
#[derive(Debug, Clone)]
pub struct RecordData {
    pub id: String,
    pub kind: String,
    pub doc: Vec<u8>,
    pub heads: Vec<String>,
    /// Oldest first. When `truncated`, the first row is only the baseline
    /// the next one is compared with (older entries are not read).
    pub feed: Vec<FeedRow>,
    pub truncated: bool,
    /// The tablets named in the feed.
    pub devices: Vec<DeviceName>,
    pub approval: Option<Approval>,
    /// The resident's household, or the household itself.
    pub household: Option<HouseholdRow>,
    /// The household's members (at most 100).
    pub members: Vec<ResidentRow>,
    /// Residents merged into this one.
    pub merged_from: Vec<ResidentRow>,
    /// The record this one was merged into.
    pub merged_into: Option<ResidentRow>,
}

/// A reviewer's resolution of a field in conflict.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub id: String,
    /// The heads the page was rendered from (hex): if the record changed
    /// since, nothing is written.
    pub heads: Vec<String>,
    pub field: String,
    /// The value, as the record's JSON shows it (already checked).
    pub value: serde_json::Value,
    pub by: String,
    pub now: i64,
}

/// What came of a resolution.
#[derive(Debug)]
pub enum Resolved {
    /// Written: the record's heads now.
    Done(Vec<String>),
    /// The record changed after the page was shown; nothing was written.
    Stale,
    /// The field is not in conflict (any more); nothing was written.
    NotInConflict,
}

#[async_trait::async_trait]
pub trait RecordViews {
    /// A page of residents matching a search (merged-away ones included).
    async fn search_residents(&self, q: SearchQuery) -> Result<SearchPage, StoreError>;
    /// Everything a record's page shows; `None`: no such record.
    async fn record_data(&self, id: &str) -> Result<Option<RecordData>, StoreError>;
    /// Settle a field in conflict as the registry, in one transaction: the
    /// document, its projection and match-queue entry, a feed entry (so the
    /// ward's tablets pull it) and the audit log — or nothing at all.
    async fn resolve_conflict(&self, r: Resolution) -> Result<Resolved, StoreError>;
}

/// One branch of a search (see the module's notes).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Branch {
    Given(String),
    Family(String),
    GivenFamily(String, String),
    NameHi(String),
    /// The last word of `name_hi` (a family name in Devanagari).
    NameHiLast(String),
    Phone(String),
    Voter(String),
    Health(String),
    Id(String),
    All,
}

fn branches(s: &Search) -> Vec<Branch> {
    match s {
        Search::Everyone => vec![Branch::All],
        Search::HealthId(h) => vec![Branch::Health(h.clone())],
        Search::RecordId(id) => vec![Branch::Id(id.clone())],
        Search::Phone(p) => vec![Branch::Phone(p.clone())],
        Search::VoterId(v) => vec![Branch::Voter(v.clone())],
        Search::Name(words) => match words.as_slice() {
            [] => vec![],
            [one] => vec![Branch::Given(one.clone()), Branch::Family(one.clone())],
            [first, .., last] => vec![Branch::GivenFamily(first.clone(), last.clone()), Branch::Given(words.join(" "))],
        },
        Search::Devanagari(p) => {
            let mut b = vec![Branch::NameHi(p.clone())];
            if !p.contains(' ') {
                b.push(Branch::NameHiLast(p.clone()));
            }
            b.extend([Branch::Given(p.clone()), Branch::Family(p.clone())]);
            b
        }
    }
}

/// The least string greater than every string starting with `p`.
fn upper_bound(p: &str) -> String {
    let mut chars: Vec<char> = p.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(n) = next {
            chars.push(n);
            return chars.into_iter().collect();
        }
    }
    char::MAX.to_string()
}

/// How a dialect writes the indexed expressions and placeholders.
struct Dialect {
    given: &'static str,
    family: &'static str,
    name_hi: &'static str,
    /// The last word of `name_hi`, as the index has it.
    name_hi_last: &'static str,
    voter: &'static str,
    /// `?N` or `$N`.
    mark: fn(usize) -> String,
    r#false: &'static str,
}

const SQLITE: Dialect = Dialect {
    given: "lower(given_name)",
    family: "lower(family_name)",
    name_hi: "name_hi",
    name_hi_last: "replace(name_hi, rtrim(name_hi, replace(name_hi, ' ', '')), '')",
    voter: "voter_id",
    mark: |n| format!("?{n}"),
    r#false: "0",
};

const POSTGRES: Dialect = Dialect {
    given: "(lower(given_name) COLLATE \"C\")",
    family: "(lower(family_name) COLLATE \"C\")",
    name_hi: "(name_hi COLLATE \"C\")",
    name_hi_last: "(split_part(name_hi, ' ', -1) COLLATE \"C\")",
    voter: "(voter_id COLLATE \"C\")",
    mark: |n| format!("${n}"),
    r#false: "FALSE",
};

#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Int(i64),
    /// Compared with the INTEGER `ward` column.
    Ward(i64),
}

impl Dialect {
    fn cond(&self, b: &Branch, params: &mut Vec<Param>) -> String {
        let mut bind = |v: String| {
            params.push(Param::Text(v));
            (self.mark)(params.len())
        };
        let range = |expr: &str, p: &str, bind: &mut dyn FnMut(String) -> String| {
            let (lo, hi) = (bind(p.to_string()), bind(upper_bound(p)));
            format!("{expr} >= {lo} AND {expr} < {hi}")
        };
        match b {
            Branch::Given(p) => range(self.given, p, &mut bind),
            Branch::Family(p) => range(self.family, p, &mut bind),
            Branch::GivenFamily(g, f) => {
                let a = range(self.given, g, &mut bind);
                let b = range(self.family, f, &mut bind);
                format!("{a} AND {b}")
            }
            Branch::NameHi(p) => range(self.name_hi, p, &mut bind),
            Branch::NameHiLast(p) => range(self.name_hi_last, p, &mut bind),
            Branch::Voter(p) => range(self.voter, p, &mut bind),
            Branch::Phone(p) => format!("phone = {}", bind(p.clone())),
            Branch::Health(h) => format!("health_id = {}", bind(h.clone())),
            Branch::Id(id) => format!("id = {}", bind(id.clone())),
            Branch::All => "1 = 1".into(),
        }
    }

    fn order(&self, b: &Branch) -> String {
        match b {
            Branch::Given(_) | Branch::GivenFamily(..) | Branch::All => format!("{}, {}, id", self.given, self.family),
            Branch::Family(_) => format!("{}, {}, id", self.family, self.given),
            Branch::NameHi(_) => format!("{}, id", self.name_hi),
            Branch::NameHiLast(_) => format!("{}, id", self.name_hi_last),
            Branch::Voter(_) => format!("{}, id", self.voter),
            Branch::Phone(_) | Branch::Health(_) | Branch::Id(_) => "id".into(),
        }
    }

    /// `WHERE …` of branch `k`: its condition, the ward, and none of the
    /// earlier branches' matches.
    fn filter(&self, all: &[Branch], k: usize, ward: Option<i64>, params: &mut Vec<Param>) -> String {
        let mut sql = format!("({})", self.cond(&all[k], params));
        if let Some(w) = ward {
            params.push(Param::Ward(w));
            sql.push_str(&format!(" AND ward = {}", (self.mark)(params.len())));
        }
        for earlier in &all[..k] {
            let c = self.cond(earlier, params);
            sql.push_str(&format!(" AND NOT coalesce(({c}), {})", self.r#false));
        }
        sql
    }

    /// The rows of branch `k` from `offset`, at most `limit`.
    fn page_sql(&self, all: &[Branch], k: usize, ward: Option<i64>, offset: u32, limit: u32) -> (String, Vec<Param>) {
        let mut params = Vec::new();
        let filter = self.filter(all, k, ward, &mut params);
        params.push(Param::Int(i64::from(limit)));
        let l = (self.mark)(params.len());
        params.push(Param::Int(i64::from(offset)));
        let o = (self.mark)(params.len());
        let sql = format!(
            "SELECT {ROW_COLS} FROM residents WHERE {filter} ORDER BY {} LIMIT {l} OFFSET {o}",
            self.order(&all[k])
        );
        (sql, params)
    }

    /// How many rows branch `k` has, counting at most `cap`.
    fn count_sql(&self, all: &[Branch], k: usize, ward: Option<i64>, cap: u32) -> (String, Vec<Param>) {
        let mut params = Vec::new();
        let filter = self.filter(all, k, ward, &mut params);
        params.push(Param::Int(i64::from(cap)));
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM residents WHERE {filter} LIMIT {}) t",
            (self.mark)(params.len())
        );
        (sql, params)
    }
}

const ROW_COLS: &str = "id, ward, health_id, given_name, family_name, name_hi, sex, birth_year, phone, voter_id, \
                        has_conflicts, status, merged_into, household_id, enrolled_by";

/// Read a search page branch by branch: `fetch(k, offset, limit)` reads
/// rows of branch `k`, `count(k, cap)` counts them (up to `cap`).
fn paged<E>(
    n: usize,
    offset: u32,
    limit: u32,
    mut fetch: impl FnMut(usize, u32, u32) -> Result<Vec<ResidentRow>, E>,
    mut count: impl FnMut(usize, u32) -> Result<u32, E>,
) -> Result<SearchPage, E> {
    let mut skip = offset.min(MAX_OFFSET);
    let limit = limit.clamp(1, 200);
    let mut need = limit + 1;
    let mut rows = Vec::new();
    for k in 0..n {
        if need == 0 {
            break;
        }
        if skip > 0 {
            let c = count(k, skip)?;
            if c < skip {
                skip -= c;
                continue;
            }
        }
        let got = fetch(k, skip, need)?;
        skip = 0;
        need -= got.len() as u32;
        rows.extend(got);
    }
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    Ok(SearchPage { rows, more })
}

fn sqlite_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResidentRow> {
    Ok(ResidentRow {
        id: r.get(0)?,
        ward: r.get(1)?,
        health_id: r.get(2)?,
        given_name: r.get(3)?,
        family_name: r.get(4)?,
        name_hi: r.get(5)?,
        sex: r.get(6)?,
        birth_year: r.get(7)?,
        phone: r.get(8)?,
        voter_id: r.get(9)?,
        has_conflicts: r.get(10)?,
        status: r.get(11)?,
        merged_into: r.get(12)?,
        household_id: r.get(13)?,
        enrolled_by: r.get(14)?,
        address: None,
    })
}

fn pg_row(r: &tokio_postgres::Row) -> ResidentRow {
    ResidentRow {
        id: r.get(0),
        ward: i64::from(r.get::<_, i32>(1)),
        health_id: r.get(2),
        given_name: r.get(3),
        family_name: r.get(4),
        name_hi: r.get(5),
        sex: r.get(6),
        birth_year: r.get::<_, Option<i32>>(7).map(i64::from),
        phone: r.get(8),
        voter_id: r.get(9),
        has_conflicts: r.get(10),
        status: r.get(11),
        merged_into: r.get(12),
        household_id: r.get(13),
        enrolled_by: r.get(14),
        address: None,
    }
}

fn sqlite_values(params: &[Param]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p {
            Param::Text(s) => rusqlite::types::Value::Text(s.clone()),
            Param::Int(i) | Param::Ward(i) => rusqlite::types::Value::Integer(*i),
        })
        .collect()
}

fn pg_values(params: &[Param]) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match p {
                Param::Text(s) => Box::new(s.clone()),
                Param::Int(v) => Box::new(*v),
                Param::Ward(v) => Box::new(i32::try_from(*v).unwrap_or(i32::MAX)),
            }
        })
        .collect()
}

fn pg_refs(
    v: &[Box<dyn tokio_postgres::types::ToSql + Sync + Send>],
) -> Vec<&(dyn tokio_postgres::types::ToSql + Sync)> {
    v.iter().map(|b| b.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect()
}

fn heads_of(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn same_heads(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

/// What to write for a resolution, or why nothing is written.
fn plan_resolution(r: &Resolution, doc: &[u8], heads_json: &str) -> Result<Result<Write, Resolved>, StoreError> {
    if !same_heads(&heads_of(heads_json), &r.heads) {
        return Ok(Err(Resolved::Stale));
    }
    let record = ehcard_core::RecordDoc::load(doc, &super::server_actor())
        .and_then(|d| d.read())
        .map_err(|e| StoreError::Corrupt { id: r.id.clone(), message: e.to_string() })?;
    if !record.conflicts.iter().any(|c| c.field == r.field) {
        return Ok(Err(Resolved::NotInConflict));
    }
    match super::plan_field_values(&r.id, doc, &[(r.field.clone(), r.value.clone())], &r.by, r.now)? {
        Some((w, _)) => Ok(Ok(w)),
        None => Ok(Err(Resolved::NotInConflict)),
    }
}

fn resolution_audit(r: &Resolution, before: &[String], after: &[String]) -> NewAudit {
    NewAudit {
        at: r.now,
        actor: r.by.clone(),
        action: "console.resolve_conflict".into(),
        subject: r.id.clone(),
        detail: serde_json::json!({
            "field": r.field,
            "value": r.value,
            "heads_before": before,
            "heads_after": after,
        }),
    }
}

#[async_trait::async_trait]
impl RecordViews for SqliteStore {
    async fn search_residents(&self, q: SearchQuery) -> Result<SearchPage, StoreError> {
        self.run(move |conn| {
            let all = branches(&q.search);
            let mut page = paged(
                all.len(),
                q.offset,
                q.limit,
                |k, offset, limit| {
                    let (sql, params) = SQLITE.page_sql(&all, k, q.ward, offset, limit);
                    let mut st = conn.prepare_cached(&sql)?;
                    let rows = st.query_map(params_from_iter(sqlite_values(&params)), sqlite_row)?;
                    Ok::<_, StoreError>(rows.collect::<Result<Vec<_>, _>>()?)
                },
                |k, cap| {
                    let (sql, params) = SQLITE.count_sql(&all, k, q.ward, cap);
                    let n: i64 =
                        conn.prepare_cached(&sql)?.query_row(params_from_iter(sqlite_values(&params)), |r| r.get(0))?;
                    Ok(n as u32)
                },
            )?;
            let mut st = conn.prepare_cached("SELECT house, street, locality FROM households WHERE id = ?1")?;
            for row in &mut page.rows {
                if let Some(h) = &row.household_id {
                    let found: Option<(Option<String>, Option<String>, Option<String>)> =
                        st.query_row([h], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
                    if let Some((a, b, c)) = found {
                        row.address = address_of(a.as_deref(), b.as_deref(), c.as_deref());
                    }
                }
            }
            Ok(page)
        })
        .await
    }

    async fn record_data(&self, id: &str) -> Result<Option<RecordData>, StoreError> {
        let id = id.to_string();
        self.run(move |conn| {
            let Some((kind, doc, heads)) = conn
                .query_row("SELECT kind, data, heads FROM docs WHERE id = ?1", [&id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?))
                })
                .optional()?
            else {
                return Ok(None);
            };
            let mut feed = {
                let mut st = conn.prepare_cached(
                    "SELECT seq, device_id, received_at, heads FROM feed WHERE record_id = ?1 ORDER BY seq DESC LIMIT ?2",
                )?;
                st.query_map(rusqlite::params![id, HISTORY_ROWS + 1], |r| {
                    Ok(FeedRow {
                        seq: r.get(0)?,
                        device_id: r.get(1)?,
                        received_at: r.get(2)?,
                        heads: heads_of(&r.get::<_, String>(3)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?
            };
            let truncated = feed.len() > HISTORY_ROWS as usize;
            feed.reverse();
            let mut devices = Vec::new();
            {
                let mut ids: Vec<&str> = feed.iter().map(|f| f.device_id.as_str()).collect();
                ids.sort_unstable();
                ids.dedup();
                let mut st = conn.prepare_cached("SELECT id, number, label FROM devices WHERE id = ?1")?;
                for d in ids {
                    if let Some(dev) = st
                        .query_row([d], |r| Ok(DeviceName { id: r.get(0)?, number: r.get(1)?, label: r.get(2)? }))
                        .optional()?
                    {
                        devices.push(dev);
                    }
                }
            }
            let approval = conn
                .query_row(
                    "SELECT approved_by, approved_at, printed_at, printed_by, print_count FROM card_approvals
                     WHERE record_id = ?1",
                    [&id],
                    |r| {
                        Ok(Approval {
                            approved_by: r.get(0)?,
                            approved_at: r.get(1)?,
                            printed_at: r.get(2)?,
                            printed_by: r.get(3)?,
                            print_count: r.get(4)?,
                        })
                    },
                )
                .optional()?;
            let own: Option<(Option<String>, Option<String>)> = conn
                .query_row("SELECT household_id, merged_into FROM residents WHERE id = ?1", [&id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            let (household_id, merged_into) = match kind.as_str() {
                "household" => (Some(id.clone()), None),
                _ => own.unwrap_or_default(),
            };
            let resident = |rid: &str| -> Result<Option<ResidentRow>, StoreError> {
                Ok(conn
                    .prepare_cached(&format!("SELECT {ROW_COLS} FROM residents WHERE id = ?1"))?
                    .query_row([rid], sqlite_row)
                    .optional()?)
            };
            let household = match &household_id {
                Some(h) => conn
                    .query_row(
                        "SELECT id, ward, house, street, locality, head_id, members FROM households WHERE id = ?1",
                        [h],
                        |r| {
                            Ok(HouseholdRow {
                                id: r.get(0)?,
                                ward: r.get(1)?,
                                house: r.get(2)?,
                                street: r.get(3)?,
                                locality: r.get(4)?,
                                head_id: r.get(5)?,
                                members: r.get(6)?,
                            })
                        },
                    )
                    .optional()?,
                None => None,
            };
            let list = |sql: &str, key: &str| -> Result<Vec<ResidentRow>, StoreError> {
                let mut st = conn.prepare_cached(sql)?;
                let rows = st.query_map(rusqlite::params![key, MAX_LISTED], sqlite_row)?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            };
            let members = match &household_id {
                Some(h) => list(
                    &format!("SELECT {ROW_COLS} FROM residents WHERE household_id = ?1 ORDER BY birth_year, id LIMIT ?2"),
                    h,
                )?,
                None => Vec::new(),
            };
            let merged_from =
                list(&format!("SELECT {ROW_COLS} FROM residents WHERE merged_into = ?1 ORDER BY id LIMIT ?2"), &id)?;
            let merged_into = match merged_into {
                Some(m) => resident(&m)?,
                None => None,
            };
            Ok(Some(RecordData {
                id,
                kind,
                doc,
                heads: heads_of(&heads),
                feed,
                truncated,
                devices,
                approval,
                household,
                members,
                merged_from,
                merged_into,
            }))
        })
        .await
    }

    async fn resolve_conflict(&self, r: Resolution) -> Result<Resolved, StoreError> {
        self.run(move |conn| {
            let tx = conn.transaction()?;
            let Some((doc, heads)) = tx
                .query_row("SELECT data, heads FROM docs WHERE id = ?1", [&r.id], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?))
                })
                .optional()?
            else {
                return Err(StoreError::NoRecord(r.id.clone()));
            };
            let w = match plan_resolution(&r, &doc, &heads)? {
                Ok(w) => w,
                Err(refused) => return Ok(refused),
            };
            let after = heads_of(&w.heads_json);
            super::sqlite::write_registry(&tx, std::slice::from_ref(&w), r.now)?;
            super::sqlite_dedup::audit(&tx, &resolution_audit(&r, &heads_of(&heads), &after))?;
            tx.commit()?;
            Ok(Resolved::Done(after))
        })
        .await
    }
}

#[async_trait::async_trait]
impl RecordViews for PgStore {
    async fn search_residents(&self, q: SearchQuery) -> Result<SearchPage, StoreError> {
        let client = self.pool.get().await?;
        let all = branches(&q.search);
        // As `paged` does, with the reads made here (they are async).
        let mut skip = q.offset.min(MAX_OFFSET);
        let limit = q.limit.clamp(1, 200);
        let mut need = limit + 1;
        let mut rows: Vec<ResidentRow> = Vec::new();
        for k in 0..all.len() {
            if need == 0 {
                break;
            }
            if skip > 0 {
                let (sql, params) = POSTGRES.count_sql(&all, k, q.ward, skip);
                let values = pg_values(&params);
                let n = client.query_one(&sql, &pg_refs(&values)).await?.get::<_, i64>(0) as u32;
                if n < skip {
                    skip -= n;
                    continue;
                }
            }
            let (sql, params) = POSTGRES.page_sql(&all, k, q.ward, skip, need);
            let values = pg_values(&params);
            let got: Vec<ResidentRow> = client.query(&sql, &pg_refs(&values)).await?.iter().map(pg_row).collect();
            skip = 0;
            need -= got.len() as u32;
            rows.extend(got);
        }
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let mut page = SearchPage { rows, more };
        let ids: Vec<&str> = page.rows.iter().filter_map(|r| r.household_id.as_deref()).collect();
        if !ids.is_empty() {
            let found =
                client.query("SELECT id, house, street, locality FROM households WHERE id = ANY($1)", &[&ids]).await?;
            let map: std::collections::HashMap<String, Option<String>> = found
                .iter()
                .map(|r| {
                    let a: Option<String> = r.get(1);
                    let b: Option<String> = r.get(2);
                    let c: Option<String> = r.get(3);
                    (r.get::<_, String>(0), address_of(a.as_deref(), b.as_deref(), c.as_deref()))
                })
                .collect();
            for row in &mut page.rows {
                if let Some(h) = &row.household_id {
                    row.address = map.get(h).cloned().flatten();
                }
            }
        }
        Ok(page)
    }

    async fn record_data(&self, id: &str) -> Result<Option<RecordData>, StoreError> {
        let client = self.pool.get().await?;
        let Some(row) = client.query_opt("SELECT kind, data, heads FROM docs WHERE id = $1", &[&id]).await? else {
            return Ok(None);
        };
        let (kind, doc, heads): (String, Vec<u8>, String) = (row.get(0), row.get(1), row.get(2));
        let mut feed: Vec<FeedRow> = client
            .query(
                "SELECT seq, device_id, received_at, heads FROM feed WHERE record_id = $1 ORDER BY seq DESC LIMIT $2",
                &[&id, &i64::from(HISTORY_ROWS + 1)],
            )
            .await?
            .iter()
            .map(|r| FeedRow {
                seq: r.get(0),
                device_id: r.get(1),
                received_at: r.get(2),
                heads: heads_of(r.get::<_, &str>(3)),
            })
            .collect();
        let truncated = feed.len() > HISTORY_ROWS as usize;
        feed.reverse();
        let mut ids: Vec<&str> = feed.iter().map(|f| f.device_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let devices = client
            .query("SELECT id, number, label FROM devices WHERE id = ANY($1)", &[&ids])
            .await?
            .iter()
            .map(|r| DeviceName { id: r.get(0), number: r.get::<_, i32>(1) as u32, label: r.get(2) })
            .collect();
        let approval = client
            .query_opt(
                "SELECT approved_by, approved_at, printed_at, printed_by, print_count FROM card_approvals
                 WHERE record_id = $1",
                &[&id],
            )
            .await?
            .map(|r| Approval {
                approved_by: r.get(0),
                approved_at: r.get(1),
                printed_at: r.get(2),
                printed_by: r.get(3),
                print_count: i64::from(r.get::<_, i32>(4)),
            });
        let (household_id, merged_into): (Option<String>, Option<String>) = if kind == "household" {
            (Some(id.to_string()), None)
        } else {
            client
                .query_opt("SELECT household_id, merged_into FROM residents WHERE id = $1", &[&id])
                .await?
                .map(|r| (r.get(0), r.get(1)))
                .unwrap_or_default()
        };
        let household = match &household_id {
            Some(h) => client
                .query_opt(
                    "SELECT id, ward, house, street, locality, head_id, members FROM households WHERE id = $1",
                    &[h],
                )
                .await?
                .map(|r| HouseholdRow {
                    id: r.get(0),
                    ward: i64::from(r.get::<_, i32>(1)),
                    house: r.get(2),
                    street: r.get(3),
                    locality: r.get(4),
                    head_id: r.get(5),
                    members: i64::from(r.get::<_, i32>(6)),
                }),
            None => None,
        };
        let members = match &household_id {
            Some(h) => client
                .query(
                    &format!(
                        "SELECT {ROW_COLS} FROM residents WHERE household_id = $1 ORDER BY birth_year, id LIMIT $2"
                    ),
                    &[h, &i64::from(MAX_LISTED)],
                )
                .await?
                .iter()
                .map(pg_row)
                .collect(),
            None => Vec::new(),
        };
        let merged_from = client
            .query(
                &format!("SELECT {ROW_COLS} FROM residents WHERE merged_into = $1 ORDER BY id LIMIT $2"),
                &[&id, &i64::from(MAX_LISTED)],
            )
            .await?
            .iter()
            .map(pg_row)
            .collect();
        let merged_into = match merged_into {
            Some(m) => client
                .query_opt(&format!("SELECT {ROW_COLS} FROM residents WHERE id = $1"), &[&m])
                .await?
                .map(|r| pg_row(&r)),
            None => None,
        };
        Ok(Some(RecordData {
            id: id.to_string(),
            kind,
            doc,
            heads: heads_of(&heads),
            feed,
            truncated,
            devices,
            approval,
            household,
            members,
            merged_from,
            merged_into,
        }))
    }

    async fn resolve_conflict(&self, r: Resolution) -> Result<Resolved, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx.query_opt("SELECT data, heads FROM docs WHERE id = $1 FOR UPDATE", &[&r.id]).await? else {
            return Err(StoreError::NoRecord(r.id.clone()));
        };
        let (doc, heads): (Vec<u8>, String) = (row.get(0), row.get(1));
        let w = match tokio::task::block_in_place(|| plan_resolution(&r, &doc, &heads))? {
            Ok(w) => w,
            Err(refused) => return Ok(refused),
        };
        let after = heads_of(&w.heads_json);
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&super::postgres::FEED_LOCK]).await?;
        super::postgres::write_registry(&tx, std::slice::from_ref(&w), r.now).await?;
        super::pg_dedup::audit(&tx, &resolution_audit(&r, &heads_of(&heads), &after)).await?;
        tx.commit().await?;
        Ok(Resolved::Done(after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_bounds_follow_every_string_with_the_prefix() {
        assert_eq!(upper_bound("sun"), "suo");
        assert_eq!(upper_bound("सु"), "सू");
        let hi = upper_bound("sun");
        assert!("sunita" < hi.as_str() && "sun" < hi.as_str());
        assert!("suo" >= upper_bound("sun").as_str());
    }

    #[test]
    fn pages_run_across_branches_without_reading_more_than_needed() {
        let data = [vec!["a1", "a2", "a3"], vec!["b1", "b2"]];
        let row = |s: &str| ResidentRow { id: s.into(), ..Default::default() };
        let run = |offset: u32, limit: u32| {
            paged::<()>(
                2,
                offset,
                limit,
                |k, o, l| Ok(data[k].iter().skip(o as usize).take(l as usize).map(|s| row(s)).collect()),
                |k, cap| Ok((data[k].len() as u32).min(cap)),
            )
            .unwrap()
        };
        let ids = |p: &SearchPage| p.rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        let p = run(0, 2);
        assert_eq!((ids(&p), p.more), (vec!["a1".to_string(), "a2".into()], true));
        let p = run(2, 2);
        assert_eq!((ids(&p), p.more), (vec!["a3".to_string(), "b1".into()], true));
        let p = run(4, 2);
        assert_eq!((ids(&p), p.more), (vec!["b2".to_string()], false));
        let p = run(9, 2);
        assert!(p.rows.is_empty() && !p.more);
    }

    /// Every kind of search, with and without a ward.
    fn every_branch() -> Vec<(Vec<Branch>, usize, Option<i64>)> {
        let searches = [
            Search::Everyone,
            Search::HealthId("123456789012".into()),
            Search::RecordId("01a23ca9-f483-72e5-8c32-f3aaf0a767f4".into()),
            Search::Phone("9876543210".into()),
            Search::VoterId("DLX00".into()),
            Search::Name(vec!["sun".into()]),
            Search::Name(vec!["sunita".into(), "sha".into()]),
            Search::Devanagari("सु".into()),
            Search::Devanagari("सुनीता श".into()),
        ];
        let mut all = Vec::new();
        for search in &searches {
            let branches = branches(search);
            for ward in [None, Some(12)] {
                for k in 0..branches.len() {
                    all.push((branches.clone(), k, ward));
                }
            }
        }
        all
    }

    /// Each search branch reads residents through an index, and across
    /// wards in the index's order where it pages by name or voter id
    /// (SQLite's plan of the
    /// statement the search runs, on the migrated schema; ties may be put
    /// in id order after). An index whose
    /// expression a migration changes without the search's, or the
    /// reverse, fails here rather than as a slow search.
    #[test]
    fn every_search_branch_reads_an_index_on_sqlite() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for sql in super::super::sqlite::MIGRATIONS {
            conn.execute_batch(sql).unwrap();
        }
        // A registry of 20,000 over 250 wards, one in ten with a phone,
        // and its statistics: the planner weighs the indexes as it would
        // on a city's registry, not on an empty table.
        conn.execute_batch(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 19999)
             INSERT INTO residents(id, ward, household_id, health_id, given_name, family_name, name_hi,
                                   birth_year, phone, voter_id, has_conflicts, enrolled_by, updated_at, status)
             SELECT printf('r%06d', i), i % 250 + 1, printf('h%06d', i / 4), printf('%012d', i),
                    printf('given%d', i % 997), printf('family%d', i % 331), printf('नाम%d उपनाम%d', i % 997, i % 331),
                    1950 + i % 60, CASE WHEN i % 10 = 0 THEN printf('98%08d', i) END, printf('DLX%07d', i),
                    0, 'electoral-roll', 0, 'unverified'
             FROM n;
             ANALYZE;",
        )
        .unwrap();
        let mut checked = 0;
        for (all, k, ward) in every_branch() {
            let (sql, params) = SQLITE.page_sql(&all, k, ward, 0, 20);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params_from_iter(sqlite_values(&params)), |r| r.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let reads = plan.iter().find(|d| d.contains(" residents")).unwrap();
            assert!(reads.contains(" USING "), "{:?}, ward {ward:?}: {plan:?}", all[k]);
            // Lookups of one value page by id; a given name and a family
            // name may be read by either one's range (the narrower).
            let sorted =
                matches!(all[k], Branch::Phone(_) | Branch::Health(_) | Branch::Id(_) | Branch::GivenFamily(..));
            // A whole sort, not one of ties in the index's order. Within a
            // ward the planner may rather read the ward's rows and sort them.
            let sorts = plan.iter().any(|d| d.contains("TEMP B-TREE FOR ORDER BY"));
            assert!(sorted || ward.is_some() || !sorts, "{:?}: {plan:?}", all[k]);
            checked += 1;
        }
        assert_eq!(checked, 32);
    }

    /// PostgreSQL's search names each indexed expression as the latest
    /// migration to create that index writes it: the planner uses an
    /// expression index only for the same expression.
    #[test]
    fn postgres_search_names_the_indexed_expressions() {
        let mut current: std::collections::BTreeMap<&str, &str> = Default::default();
        for line in super::super::postgres::MIGRATIONS.iter().flat_map(|sql| sql.lines()) {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["CREATE", "INDEX", name, ..] => {
                    current.insert(name, line);
                }
                ["DROP", "INDEX", name] => {
                    current.remove(name.trim_end_matches(';'));
                }
                _ => {}
            }
        }
        let expressions = [POSTGRES.given, POSTGRES.family, POSTGRES.name_hi, POSTGRES.name_hi_last, POSTGRES.voter];
        for expr in expressions {
            assert!(current.values().any(|def| def.contains(expr)), "no index on {expr}");
        }
        // The check can fail: the expression the migrations replaced is gone.
        assert!(!current.values().any(|def| def.contains("regexp_replace")));
    }
}
