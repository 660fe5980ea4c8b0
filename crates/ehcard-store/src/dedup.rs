//! Duplicate checks before a new resident is saved: the residents that
//! share a blocking key with the newcomer (`match_keys`) are scored by
//! `ehcard-match`, and the likely ones come back with their reasons.

use std::collections::HashSet;

use ehcard_core::ids::HealthId;
use ehcard_core::model::Fields;
use ehcard_match::{Person, Reason};
use rusqlite::{Connection, Row, params};
use serde::Serialize;

use crate::StoreError;

/// A resident already on the device who may be the one being enrolled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    pub id: String,
    pub health_id: Option<String>,
    pub given_name: String,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub sex: Option<String>,
    pub date_of_birth: Option<String>,
    pub birth_year: Option<i64>,
    pub phone: Option<String>,
    pub voter_id: Option<String>,
    pub ward: Option<i64>,
    pub household_id: Option<String>,
    pub relation: Option<String>,
    pub relative_name: Option<String>,
    pub status: Option<String>,
    /// 0 to 1: how alike the two are.
    pub score: f32,
    /// Why they look alike, strongest first.
    pub reasons: Vec<Reason>,
}

const COLUMNS: &str = "r.id, r.health_id, r.given_name, r.family_name, r.name_hi, r.sex, r.date_of_birth, \
    r.birth_year, r.phone, r.voter_id, r.ward, r.household_id, r.relation, r.relative_name, r.status";

fn row_duplicate(row: &Row<'_>) -> rusqlite::Result<Duplicate> {
    let health: Option<String> = row.get(1)?;
    Ok(Duplicate {
        id: row.get(0)?,
        health_id: health.and_then(|h| h.parse::<HealthId>().ok()).map(|h| h.to_string()),
        given_name: row.get(2)?,
        family_name: row.get(3)?,
        name_hi: row.get(4)?,
        sex: row.get(5)?,
        date_of_birth: row.get(6)?,
        birth_year: row.get(7)?,
        phone: row.get(8)?,
        voter_id: row.get(9)?,
        ward: row.get(10)?,
        household_id: row.get(11)?,
        relation: row.get(12)?,
        relative_name: row.get(13)?,
        status: row.get(14)?,
        score: 0.0,
        reasons: Vec::new(),
    })
}

fn person(d: &Duplicate) -> Person {
    Person {
        id: d.id.clone(),
        given_name: d.given_name.clone(),
        family_name: d.family_name.clone(),
        name_hi: d.name_hi.clone(),
        sex: d.sex.clone(),
        date_of_birth: d.date_of_birth.clone(),
        birth_year: d.birth_year.and_then(|y| i32::try_from(y).ok()),
        phone: d.phone.clone(),
        voter_id: d.voter_id.clone(),
        household_id: d.household_id.clone(),
        relation: d.relation.clone(),
        relative_name: d.relative_name.clone(),
        ward: d.ward.and_then(|w| u16::try_from(w).ok()),
    }
}

/// Likely duplicates of a resident with these fields, best first. `id` is
/// the resident's own id when it is already stored (it is not its own
/// duplicate).
pub(crate) fn likely_duplicates(conn: &Connection, id: &str, fields: &Fields) -> Result<Vec<Duplicate>, StoreError> {
    let new = ehcard_core::matching::person(id, fields);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM match_keys k JOIN residents r ON r.rid = k.rid
         WHERE k.key = ?1 AND r.merged_into IS NULL AND r.id <> ?2"
    ))?;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for key in ehcard_match::blocking_keys(&new) {
        let rows = stmt.query_map(params![key, id], row_duplicate)?;
        for row in rows {
            let d = row?;
            if seen.insert(d.id.clone()) {
                found.push(d);
            }
        }
    }
    let people: Vec<Person> = found.iter().map(person).collect();
    let mut out: Vec<Duplicate> = ehcard_match::check(&new, &people)
        .into_iter()
        .filter_map(|(p, m)| {
            let mut d = found.iter().find(|d| d.id == p.id)?.clone();
            d.score = m.score;
            d.reasons = m.reasons;
            Some(d)
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}
