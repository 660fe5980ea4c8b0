//! One test per matching rule, positive and negative.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use ehcard_match::{Person, ReasonCode, blocking_keys, check, compare, name_key, synth};

fn person(given: &str, family: Option<&str>) -> Person {
    Person {
        id: given.to_string(),
        given_name: given.to_string(),
        family_name: family.map(str::to_string),
        sex: Some("male".into()),
        ..Person::default()
    }
}

fn with_dob(mut p: Person, dob: &str) -> Person {
    p.birth_year = dob.get(..4).and_then(|y| y.parse().ok());
    p.date_of_birth = Some(dob.to_string());
    p
}

fn codes(a: &Person, b: &Person) -> Vec<ReasonCode> {
    compare(a, b).map(|m| m.reasons.iter().map(|r| r.code).collect()).unwrap_or_default()
}

#[test]
fn transliteration_devanagari_to_latin() {
    assert_eq!(name_key("मोहम्मद इकबाल"), name_key("Mohd Iqbal"));
    assert_eq!(name_key("लक्ष्मी देवी"), name_key("Laxmi Devi"));
    assert_eq!(name_key("सुनीता"), name_key("Sunita"));
    let a = with_dob(person("मोहम्मद", Some("इकबाल")), "1975-03-02");
    let b = with_dob(person("Mohd", Some("Iqbal")), "1975-03-02");
    let m = compare(&a, &b).unwrap();
    assert!(m.reasons.iter().any(|r| r.code == ReasonCode::SimilarName && r.detail.contains("transliteration")));
    let mut a = with_dob(person("Sunita", None), "1988-07-11");
    let mut b = with_dob(person("सुनीता", None), "1988-07-11");
    a.sex = Some("female".into());
    b.sex = Some("female".into());
    assert!(compare(&a, &b).is_some());
    // name_hi alone carries the name on one side
    let mut c = with_dob(person("Laxmi", Some("Devi")), "1960-01-20");
    c.sex = Some("female".into());
    let mut d = c.clone();
    d.given_name = "L.".into();
    d.family_name = None;
    d.name_hi = Some("लक्ष्मी देवी".into());
    assert!(compare(&c, &d).is_some());
}

#[test]
fn spelling_variants() {
    assert_eq!(name_key("Mohd"), name_key("Mohammad"));
    assert_eq!(name_key("Md. Salim"), name_key("Muhammad Salim"));
    assert_eq!(name_key("Laxmi"), name_key("Lakshmi"));
    assert_eq!(name_key("Choudhary"), name_key("Chaudhary"));
    assert_eq!(name_key("Chowdhury"), name_key("Chaudhari"));
    let a = with_dob(person("Ramesh", Some("Choudhary")), "1970-02-02");
    let b = with_dob(person("Ramesh", Some("Chaudhary")), "1970-02-02");
    assert!(compare(&a, &b).is_some());
}

#[test]
fn typo() {
    let a = with_dob(person("Ramesh", Some("Sharma")), "1970-02-02");
    let b = with_dob(person("Rmaesh", Some("Sharma")), "1970-02-02");
    let m = compare(&a, &b).unwrap();
    assert!(m.reasons.iter().any(|r| r.code == ReasonCode::SimilarName && r.detail.contains("typo")), "{m:?}");
}

#[test]
fn age_only_birth() {
    let mut a = with_dob(person("Ramesh", Some("Sharma")), "1980-05-01");
    a.relative_name = Some("Suresh Sharma".into());
    let mut b = person("Ramesh", Some("Sharma"));
    b.birth_year = Some(1981);
    b.relative_name = Some("Suresh Sharma".into());
    assert!(codes(&a, &b).contains(&ReasonCode::SameBirthYear));
    // too far apart for an estimate
    b.birth_year = Some(1987);
    assert!(compare(&a, &b).is_none());
}

#[test]
fn same_voter_id() {
    let mut a = person("Imran", Some("Khan"));
    let mut b = person("Imraan", None);
    a.voter_id = Some("ABC1234567".into());
    b.voter_id = Some("abc 1234567".into());
    assert!(codes(&a, &b).contains(&ReasonCode::SameVoterId));
}

#[test]
fn same_phone_and_similar_name() {
    let mut a = person("Salman", Some("Qureshi"));
    let mut b = person("Salmaan", Some("Kureshi"));
    a.birth_year = Some(1990);
    b.birth_year = Some(1991);
    a.phone = Some("9811122233".into());
    b.phone = Some("9811122233".into());
    a.relative_name = Some("Rashid Qureshi".into());
    b.relative_name = Some("Rashid Kureshi".into());
    let c = codes(&a, &b);
    assert!(c.contains(&ReasonCode::SamePhone) && c.contains(&ReasonCode::SimilarName), "{c:?}");
}

#[test]
fn same_household_and_relation_self() {
    let mut a = person("Rajendra", Some("Yadav"));
    let mut b = person("Rajinder", Some("Yadav"));
    for p in [&mut a, &mut b] {
        p.household_id = Some("H1".into());
        p.relation = Some("self".into());
        p.birth_year = Some(1965);
    }
    assert!(codes(&a, &b).contains(&ReasonCode::SameHouseholdAndRelation));
}

#[test]
fn negative_father_and_son_same_name() {
    let mut father = with_dob(person("Ram", Some("Prasad")), "1950-01-01");
    let mut son = with_dob(person("Ram", Some("Prasad")), "1975-08-09");
    for p in [&mut father, &mut son] {
        p.household_id = Some("H7".into());
        p.phone = Some("9999999999".into());
    }
    father.relation = Some("self".into());
    son.relation = Some("son".into());
    son.relative_name = Some("Ram Prasad".into());
    assert!(compare(&father, &son).is_none());
    // even without dates, with estimated years 25 apart
    father.date_of_birth = None;
    son.date_of_birth = None;
    assert!(compare(&father, &son).is_none());
}

#[test]
fn negative_brothers_in_one_household() {
    let mut a = with_dob(person("Ramesh", Some("Sharma")), "1985-04-04");
    let mut b = with_dob(person("Rajesh", Some("Sharma")), "1987-10-12");
    for p in [&mut a, &mut b] {
        p.household_id = Some("H9".into());
        p.relation = Some("son".into());
        p.phone = Some("9876543210".into());
        p.relative_name = Some("Suresh Sharma".into());
        p.ward = Some(12);
    }
    assert!(compare(&a, &b).is_none());
    // one of them with only an estimated age
    b.date_of_birth = None;
    b.birth_year = Some(1986);
    assert!(compare(&a, &b).is_none());
}

#[test]
fn negative_different_sex() {
    let a = with_dob(person("Gurpreet", Some("Singh")), "1990-01-01");
    let mut b = with_dob(person("Gurpreet", Some("Kaur")), "1990-01-01");
    b.sex = Some("female".into());
    assert!(compare(&a, &b).is_none());
    let mut c = a.clone();
    c.sex = Some("female".into());
    assert!(compare(&a, &c).is_none());
}

#[test]
fn negative_different_voter_ids() {
    let mut a = with_dob(person("Mohammad", Some("Khan")), "1980-01-01");
    let mut b = a.clone();
    a.voter_id = Some("ABC1234567".into());
    b.voter_id = Some("XYZ7654321".into());
    assert!(compare(&a, &b).is_none());
}

#[test]
fn negative_common_name_different_birth_year() {
    let mut a = person("Ram", Some("Kumar"));
    let mut b = person("Ram", Some("Kumar"));
    a.birth_year = Some(1970);
    b.birth_year = Some(1976);
    a.ward = Some(3);
    b.ward = Some(120);
    assert!(compare(&a, &b).is_none());
}

#[test]
fn check_ranks_candidates() {
    let new = with_dob(person("Mohd", Some("Salim")), "1982-06-15");
    let others = [
        with_dob(person("Mohammad", Some("Salim")), "1982-06-15"),
        with_dob(person("Mohammad", Some("Salim")), "1962-06-15"),
        with_dob(person("Salim", Some("Ansari")), "1982-06-15"),
        {
            let mut p = person("Mohammed", Some("Saleem"));
            p.birth_year = Some(1983);
            p.relative_name = None;
            p
        },
    ];
    let found = check(&new, &others);
    assert!(!found.is_empty());
    assert!(std::ptr::eq(found[0].0, &others[0]));
    assert!(found.windows(2).all(|w| w[0].1.score >= w[1].1.score));
    assert!(found.iter().all(|(p, _)| !std::ptr::eq(*p, &others[1])));
}

#[test]
fn blocking_keys_of_planted_duplicates_overlap() {
    let s = synth::population(20_000, 0.05, 7);
    assert!(s.truth.len() >= 900);
    let keys: Vec<HashSet<String>> = s.people.iter().map(|p| blocking_keys(p).into_iter().collect()).collect();
    assert!(keys.iter().all(|k| k.len() <= 8));
    let shared = s.truth.iter().filter(|(a, b)| !keys[*a].is_disjoint(&keys[*b])).count();
    let rate = shared as f64 / s.truth.len() as f64;
    assert!(rate >= 0.97, "blocking recall {rate:.4}");
}

#[test]
fn synth_is_deterministic_and_shuffled() {
    let a = synth::population(2_000, 0.05, 1);
    let b = synth::population(2_000, 0.05, 1);
    assert_eq!(a.people, b.people);
    assert_eq!(a.truth, b.truth);
    assert_eq!(a.truth.len(), 100);
    let adjacent = a.truth.iter().filter(|(x, y)| y - x == 1).count();
    assert!(adjacent < 5);
    let (g, f) = synth::name_counts();
    assert!(g >= 200 && f >= 90, "{g} given, {f} family names");
}

#[test]
fn reasons_serialise_snake_case() {
    let a = with_dob(person("Mohd", Some("Iqbal")), "1975-03-02");
    let m = compare(&a, &a.clone()).unwrap();
    let j = serde_json::to_string(&m).unwrap();
    assert!(j.contains("\"similar_name\""), "{j}");
}
