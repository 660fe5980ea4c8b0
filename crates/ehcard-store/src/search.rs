//! Finding residents: names by prefix in either script (FTS5), and exact or
//! prefix lookups of eHealth IDs, phone numbers and voter ids by index.

use ehcard_core::ids::HealthId;
use rusqlite::{Connection, Row, params};
use serde::Serialize;

use crate::StoreError;

/// How a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    HealthId,
    Phone,
    VoterId,
    Name,
}

/// One resident found by a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub id: String,
    pub health_id: Option<String>,
    pub given_name: String,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    pub ward: Option<i64>,
    pub household_id: Option<String>,
    /// `unverified` (from the electoral roll), `verified`, `moved`,
    /// `deceased` or `not_found`; absent: enrolled in the field.
    pub status: Option<String>,
    pub relation: Option<String>,
    pub matched: SearchKind,
}

const COLUMNS: &str = "r.id, r.health_id, r.given_name, r.family_name, r.name_hi, r.sex, r.birth_year, r.phone, \
    r.voter_id, r.ward, r.household_id, r.status, r.relation";

fn hit(row: &Row<'_>, matched: SearchKind) -> rusqlite::Result<SearchHit> {
    let health: Option<String> = row.get(1)?;
    Ok(SearchHit {
        id: row.get(0)?,
        health_id: health.and_then(|h| h.parse::<HealthId>().ok()).map(|h| h.to_string()),
        given_name: row.get(2)?,
        family_name: row.get(3)?,
        name_hi: row.get(4)?,
        sex: row.get(5)?,
        birth_year: row.get(6)?,
        phone: row.get(7)?,
        voter_id: row.get(8)?,
        ward: row.get(9)?,
        household_id: row.get(10)?,
        status: row.get(11)?,
        relation: row.get(12)?,
        matched,
    })
}

fn query(
    conn: &Connection,
    sql: &str,
    arg: &str,
    limit: usize,
    kind: SearchKind,
) -> Result<Vec<SearchHit>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![arg, limit as i64], |r| hit(r, kind))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Escape a prefix for GLOB (digits and letters only reach here, but be safe).
fn glob_prefix(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    out.push('*');
    out
}

pub(crate) fn search(conn: &Connection, text: &str, limit: usize) -> Result<Vec<SearchHit>, StoreError> {
    let text = text.trim();
    if text.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let compact: String = text.chars().filter(|c| !matches!(c, ' ' | '-' | '+')).collect();
    // Digits: an eHealth ID or a phone number, whole or the start of one.
    if compact.len() >= 3 && compact.bytes().all(|b| b.is_ascii_digit()) {
        let mut hits = Vec::new();
        if compact.len() == 12
            && let Ok(h) = compact.parse::<HealthId>()
        {
            hits = query(
                conn,
                // A merged-away eHealth ID finds the survivor.
                &format!(
                    "SELECT {COLUMNS} FROM residents r JOIN residents m ON r.id = coalesce(m.merged_into, m.id)
                     WHERE m.health_id = ?1 LIMIT ?2"
                ),
                &h.compact(),
                limit,
                SearchKind::HealthId,
            )?;
        }
        let phone = compact.strip_prefix("91").filter(|p| p.len() == 10).unwrap_or(&compact);
        if hits.len() < limit {
            hits.extend(query(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM residents r WHERE r.phone GLOB ?1 AND r.merged_into IS NULL
                     ORDER BY r.phone LIMIT ?2"
                ),
                &glob_prefix(phone),
                limit - hits.len(),
                SearchKind::Phone,
            )?);
        }
        if hits.len() < limit {
            let more = query(
                conn,
                &format!(
                    "SELECT {COLUMNS} FROM residents r WHERE r.health_id GLOB ?1 AND r.merged_into IS NULL
                     ORDER BY r.health_id LIMIT ?2"
                ),
                &glob_prefix(&compact),
                limit - hits.len(),
                SearchKind::HealthId,
            )?;
            for h in more {
                if !hits.iter().any(|x| x.id == h.id) {
                    hits.push(h);
                }
            }
        }
        return Ok(hits);
    }
    // A voter id: three letters and at least one digit.
    let upper = compact.to_ascii_uppercase();
    let b = upper.as_bytes();
    if b.len() >= 4
        && b.len() <= 10
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && b[3..].iter().all(u8::is_ascii_digit)
    {
        return query(
            conn,
            &format!(
                "SELECT {COLUMNS} FROM residents r WHERE r.voter_id GLOB ?1 AND r.merged_into IS NULL
                 ORDER BY r.voter_id LIMIT ?2"
            ),
            &glob_prefix(&upper),
            limit,
            SearchKind::VoterId,
        );
    }
    // Names: every word is a prefix of some name word, in either script.
    let terms: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '.')
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let fts = terms.join(" AND ");
    let mut hits = query(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM residents r
             WHERE r.rid IN (SELECT rowid FROM residents_fts WHERE residents_fts MATCH ?1 LIMIT ?2)
               AND r.merged_into IS NULL"
        ),
        &fts,
        limit,
        SearchKind::Name,
    )?;
    hits.sort_by(|a, b| (&a.given_name, &a.family_name).cmp(&(&b.given_name, &b.family_name)));
    Ok(hits)
}

/// A household in a list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HouseholdRow {
    pub id: String,
    pub ward: Option<i64>,
    pub house: Option<String>,
    pub street: Option<String>,
    pub locality: Option<String>,
    pub head_id: Option<String>,
    /// The head's name, or the first member's when no head is recorded
    /// (households from the electoral roll).
    pub head_name: Option<String>,
    pub members: i64,
    /// Members still to be confirmed at the door.
    pub unverified: i64,
}

pub(crate) fn households(conn: &Connection, ward: Option<i64>, limit: usize) -> Result<Vec<HouseholdRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT h.id, h.ward, h.house, h.street, h.locality, h.head_id,
                coalesce(trim(r.given_name || ' ' || coalesce(r.family_name, '')),
                         (SELECT trim(m.given_name || ' ' || coalesce(m.family_name, '')) FROM residents m
                          WHERE m.household_id = h.id AND m.merged_into IS NULL ORDER BY m.birth_year, m.rid LIMIT 1)),
                h.member_count,
                (SELECT count(*) FROM residents m WHERE m.household_id = h.id AND m.status = 'unverified'
                    AND m.merged_into IS NULL)
         FROM households h LEFT JOIN residents r ON r.id = h.head_id
         WHERE ?1 IS NULL OR h.ward = ?1
         ORDER BY h.ward, h.locality, h.street, h.house, h.id
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![ward, limit as i64], |r| {
        Ok(HouseholdRow {
            id: r.get(0)?,
            ward: r.get(1)?,
            house: r.get(2)?,
            street: r.get(3)?,
            locality: r.get(4)?,
            head_id: r.get(5)?,
            head_name: r.get(6)?,
            members: r.get(7)?,
            unverified: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A household's members (not merged away), eldest first.
pub(crate) fn members(conn: &Connection, household: &str) -> Result<Vec<SearchHit>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM residents r WHERE r.household_id = ?1 AND r.merged_into IS NULL
         ORDER BY r.relation <> 'self', r.birth_year, r.rid"
    ))?;
    let rows = stmt.query_map([household], |r| hit(r, SearchKind::Name))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}
