//! Projections: query tables written from a record's document. They hold
//! nothing the documents do not, and `Store::reindex` rebuilds them.

use ehcard_core::model::{Record, RecordKind};
use rusqlite::{Connection, params};

use crate::StoreError;

pub(crate) fn project(conn: &Connection, r: &Record) -> Result<(), StoreError> {
    let f = &r.fields;
    match r.meta.kind {
        RecordKind::Resident => {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO residents(id, household_id, health_id, given_name, family_name, name_hi, sex,
                     date_of_birth, birth_year, phone, voter_id, ward, relation, has_conflicts, enrolled_at, updated_at,
                     status, merged_into, relative_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
                 ON CONFLICT(id) DO UPDATE SET household_id = excluded.household_id, health_id = excluded.health_id,
                     given_name = excluded.given_name, family_name = excluded.family_name, name_hi = excluded.name_hi,
                     sex = excluded.sex, date_of_birth = excluded.date_of_birth, birth_year = excluded.birth_year,
                     phone = excluded.phone, voter_id = excluded.voter_id, ward = excluded.ward,
                     relation = excluded.relation, has_conflicts = excluded.has_conflicts,
                     enrolled_at = excluded.enrolled_at, updated_at = excluded.updated_at,
                     status = excluded.status, merged_into = excluded.merged_into,
                     relative_name = excluded.relative_name
                 RETURNING rid",
            )?;
            let rid: i64 = stmt.query_row(
                params![
                    r.meta.id.to_string(),
                    f.text("household_id"),
                    r.meta.health_id.map(|h| h.compact()),
                    f.text("given_name").unwrap_or(""),
                    f.text("family_name"),
                    f.text("name_hi"),
                    f.text("sex"),
                    f.text("date_of_birth"),
                    ehcard_core::model::birth_year(f),
                    f.text("phone"),
                    f.text("voter_id"),
                    f.int("address.ward"),
                    f.text("relation_to_head"),
                    !r.conflicts.is_empty(),
                    r.meta.enrolled_at.timestamp_millis(),
                    r.meta.updated_at.timestamp_millis(),
                    f.text("status"),
                    f.text("merged_into"),
                    f.text("relative_name"),
                ],
                |row| row.get(0),
            )?;
            write_match_keys(conn, rid, r)?;
        }
        RecordKind::Household => {
            let mut stmt = conn.prepare_cached(
                "INSERT INTO households(id, ward, house, street, locality, head_id, member_count, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(id) DO UPDATE SET ward = excluded.ward, house = excluded.house, street = excluded.street,
                     locality = excluded.locality, head_id = excluded.head_id, member_count = excluded.member_count,
                     updated_at = excluded.updated_at",
            )?;
            stmt.execute(params![
                r.meta.id.to_string(),
                f.int("address.ward"),
                f.text("address.house"),
                f.text("address.street"),
                f.text("address.locality"),
                f.text("head_id"),
                f.set_items("members").len() as i64,
                r.meta.updated_at.timestamp_millis(),
            ])?;
        }
    }
    Ok(())
}

/// The resident's blocking keys for duplicate checks. A record merged into
/// another is no longer a candidate: it has none.
fn write_match_keys(conn: &Connection, rid: i64, r: &Record) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM match_keys WHERE rid = ?1")?.execute([rid])?;
    if r.fields.text("merged_into").is_some() {
        return Ok(());
    }
    let person = ehcard_core::matching::person(&r.meta.id.to_string(), &r.fields);
    let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO match_keys(key, rid) VALUES (?1, ?2)")?;
    for key in ehcard_match::blocking_keys(&person) {
        insert.execute(params![key, rid])?;
    }
    Ok(())
}
