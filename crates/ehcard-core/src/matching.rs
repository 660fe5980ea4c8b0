//! A record as the duplicate matcher (`ehcard-match`) sees it. The tablet
//! and the registry both build people through here, so their checks agree.

use ehcard_match::Person;

use crate::model::{Fields, birth_year};

/// The matcher's view of a resident's fields (`id`: the record id).
pub fn person(id: &str, f: &Fields) -> Person {
    let text = |p: &str| f.text(p).map(str::to_string);
    Person {
        id: id.to_string(),
        given_name: f.text("given_name").unwrap_or_default().to_string(),
        family_name: text("family_name"),
        name_hi: text("name_hi"),
        sex: text("sex"),
        date_of_birth: text("date_of_birth"),
        birth_year: birth_year(f).and_then(|y| i32::try_from(y).ok()),
        phone: text("phone"),
        voter_id: text("voter_id"),
        household_id: text("household_id"),
        relation: text("relation_to_head"),
        relative_name: text("relative_name"),
        ward: f.int("address.ward").and_then(|w| u16::try_from(w).ok()),
    }
}
