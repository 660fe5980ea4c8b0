//! Duplicate detection for residents enrolled in either script.
//!
//! # Approach
//!
//! **Names to keys.** Every name is first brought to Latin: Devanagari is
//! transliterated by a simplified scheme (consonants with an inherent schwa,
//! matras, virama conjuncts, anusvara/chandrabindu as `n`/`m`, nukta forms
//! q z f r, and Hindi schwa deletion at the word end and in V C _ C V), see
//! [`translit`]. The Latin text is then reduced to a phonetic key per token
//! ([`phonetic`]): lowercase letters only, x→ks, q→k, z→j, w→v, ph→f, c→k,
//! ch/chh→c, the h of aspirates and sh dropped, aa/ee/ii/oo/uu/au/ou/ai
//! collapsed, final y→i, ng→n before a consonant, doubled letters single,
//! -inder/-ender/-endra alike; and a table of variants no rule captures
//! (Mohd/Md/Muhammad→mohammad, Laxmi→lakshmi, Choudhary/Chowdhury→chaudhary,
//! Kr→kumar, Debi→devi, Sinh→singh, ...). [`name_key`] exposes the result.
//!
//! **Comparing.** [`compare`] scores a pair by adding evidence in points,
//! Fellegi-Sunter style (roughly a log-likelihood ratio), then maps the sum
//! through a logistic curve to 0..=1 ([`THRESHOLD`] = 0.5 is 6 points).
//! Names are compared on keys with Jaro-Winkler capped by the edit distance
//! (so Ram is not Ramesh), order-free over tokens, given name weighted 0.65
//! and family name 0.35, family name optional, and every script
//! representation of both people tried (Latin fields, `name_hi`). Evidence:
//!
//! | evidence | points |
//! |---|---|
//! | same voter id | +7 (different ids, both present, not a one-letter slip: -6) |
//! | name similarity | -6 .. +4; common names less ([`NameStats`], -2.5 .. +0.5) |
//! | same date of birth | +3.5 (nearly: +0.5; different: -4, or -6 beyond 2 years) |
//! | birth years (either estimated) | +1.5 / +1 / +0.5 at 0 / 1 / 2 years apart, -2 at 3-4, -6 beyond |
//! | same phone | +1.5, and +1.5 more with a similar name outside one household (families share phones) |
//! | same household and relation self / spouse | +3 (same household, different relation: -4) |
//! | same household, same name, a child's relation | +2.5 (parents do not reuse a name) |
//! | similar relative's given name (father / husband) | +1 .. +2.5 (clearly different: -1.5) |
//! | same ward | +1 (different: -0.5) |
//! | different sex | -8 |
//!
//! Two sons in one household share a relation, a father, a phone and a
//! family name: a shared relation other than self/spouse earns nothing, and
//! inside a household a child's name must be near-identical to count unless
//! the birth date (or estimated year) is the same. The name frequency
//! adjustment is on the count of people sharing the main given name, main
//! family name and sex in the population searched: [`find_pairs`] counts its
//! input; [`compare`] and [`check`] have no population and stay neutral, and
//! [`check_with_stats`] takes a [`NameStats`] of the ward.
//!
//! **Blocking.** [`blocking_keys`] gives up to 7 short keys: `v:` voter id,
//! `p:` phone, and name keys made of consonant skeletons (first letter plus
//! consonants, 3 long) of the given and family names (fillers such as
//! Mohammad, Kumar, Devi skipped when another token exists): `a:`/`b:` are
//! the given skeleton, family initial, sex and birth decade; `c:`/`d:` the
//! family skeleton, given initial, sex and birth decade, the decade taken
//! on two grids 5 years apart so birth years within ±2 always share one;
//! `e:` the given skeleton, sex and ward. A typo or variant that breaks the given-name
//! skeleton leaves the family-name keys, and vice versa. [`find_pairs`]
//! groups a population by key, compares every pair inside a block of up to
//! [`BLOCK_CAP`] people and, in bigger blocks, each person with its
//! [`WINDOW`] next neighbours in two sort orders (name then birth year; ward
//! then birth year), counts a pair once (in the first key both share unless
//! that block was windowed) and spreads blocks over all cores with
//! `std::thread::scope`.

pub mod phonetic;
pub mod synth;
pub mod translit;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// A resident as the matcher sees them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    /// Latin or Devanagari script.
    pub given_name: String,
    /// Latin or Devanagari script.
    pub family_name: Option<String>,
    /// Full name in Devanagari.
    pub name_hi: Option<String>,
    /// "female" | "male" | "other".
    pub sex: Option<String>,
    /// "YYYY-MM-DD".
    pub date_of_birth: Option<String>,
    /// Estimated (±2) when only an age is known; also set when the date is.
    pub birth_year: Option<i32>,
    /// 10 digits.
    pub phone: Option<String>,
    /// EPIC, e.g. "ABC1234567".
    pub voter_id: Option<String>,
    pub household_id: Option<String>,
    /// Relation to the head: "self", "spouse", "son", "daughter", ...
    pub relation: Option<String>,
    /// Father's, husband's or mother's name, either script.
    pub relative_name: Option<String>,
    pub ward: Option<u16>,
}

/// Why a pair scored as it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    SameVoterId,
    SimilarName,
    SameBirthYear,
    SameDateOfBirth,
    SamePhone,
    SameHouseholdAndRelation,
    SimilarRelativeName,
    SameWard,
    /// Negative evidence, reported when a pair still matches.
    DifferentVoterId,
    DifferentDateOfBirth,
    DifferentRelativeName,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    /// Human-readable English.
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// 0..=1.
    pub score: f32,
    pub reasons: Vec<Reason>,
}

/// The score at or above which a pair is a likely duplicate.
pub const THRESHOLD: f32 = 0.5;

/// Points at which the score is [`THRESHOLD`], and the logistic scale.
const MID_POINTS: f32 = 6.0;
const SCALE: f32 = 1.2;

/// Blocks up to this size are compared all-pairs; bigger ones by windows.
pub const BLOCK_CAP: usize = 80;
/// Window in sorted big blocks: each person meets this many next neighbours.
pub const WINDOW: usize = 16;

#[derive(Clone, Debug)]
struct NameRep {
    given: Vec<String>,
    family: Vec<String>,
    all: Vec<String>,
    /// Index: 0 = Latin fields (given/family), 1 = name_hi.
    source: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rel {
    Head,
    Spouse,
    Other(u64),
}

/// A person with everything the comparison needs computed once.
#[derive(Clone, Debug)]
pub struct Prepared<'a> {
    p: &'a Person,
    reps: Vec<NameRep>,
    sex: u8,
    dob: Option<(i32, u32, u32)>,
    yob: Option<i32>,
    voter: Option<String>,
    phone: Option<String>,
    relation: Option<Rel>,
    relative: Vec<String>,
    /// The relative's given part (all but the last token when two or more).
    rel_given: Vec<String>,
    sort_key: String,
    /// Hash of the main given and family tokens and sex, for frequencies.
    name_hash: u64,
    /// Points added to a name agreement for the name's rarity (0 unknown).
    name_adj: f32,
    /// Hash of the household id (0 when none).
    household: u64,
}

const FILLER: &[&str] = &["mohammad", "kumar", "kumari", "devi", "singh", "kaur", "begum", "khatoon", "abdul", "syed"];

fn main_token(toks: &[String]) -> Option<&str> {
    toks.iter().find(|t| !FILLER.contains(&t.as_str())).or(toks.first()).map(String::as_str)
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn parse_dob(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.trim().splitn(3, '-');
    let y = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let d = it.next()?.get(..2)?.parse().ok()?;
    Some((y, m, d))
}

fn hash_str(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl<'a> Prepared<'a> {
    pub fn new(p: &'a Person) -> Self {
        let mut reps = Vec::with_capacity(2);
        let given = phonetic::name_tokens(&p.given_name);
        let family = clean(&p.family_name).map(phonetic::name_tokens).unwrap_or_default();
        if !given.is_empty() || !family.is_empty() {
            let all = given.iter().chain(&family).cloned().collect();
            reps.push(NameRep { given, family, all, source: 0 });
        }
        if let Some(hi) = clean(&p.name_hi) {
            let all = phonetic::name_tokens(hi);
            if !all.is_empty() {
                let (given, family) = if all.len() >= 2 {
                    (all[..all.len() - 1].to_vec(), vec![all[all.len() - 1].clone()])
                } else {
                    (all.clone(), Vec::new())
                };
                let dup = reps.first().is_some_and(|r| r.all == all);
                if !dup {
                    reps.push(NameRep { given, family, all, source: 1 });
                }
            }
        }
        let sex = match clean(&p.sex).map(str::to_ascii_lowercase).as_deref() {
            Some("female" | "f") => 1,
            Some("male" | "m") => 2,
            Some("other" | "o") => 3,
            _ => 0,
        };
        let dob = clean(&p.date_of_birth).and_then(parse_dob);
        let yob = dob.map(|d| d.0).or(p.birth_year);
        let voter = clean(&p.voter_id)
            .map(|v| v.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_uppercase())
            .filter(|v| !v.is_empty());
        let phone = clean(&p.phone).map(|v| {
            let d: String = v.chars().filter(char::is_ascii_digit).collect();
            d[d.len().saturating_sub(10)..].to_string()
        });
        let phone = phone.filter(|d| d.len() >= 8);
        let relation = clean(&p.relation).map(|r| match r.to_ascii_lowercase().as_str() {
            "self" | "head" => Rel::Head,
            "spouse" | "wife" | "husband" => Rel::Spouse,
            other => Rel::Other(hash_str(other)),
        });
        let relative = clean(&p.relative_name).map(phonetic::name_tokens).unwrap_or_default();
        let sort_key = reps.first().map(|r| r.all.join(" ")).unwrap_or_default();
        let rel_given = if relative.len() >= 2 { relative[..relative.len() - 1].to_vec() } else { relative.clone() };
        let name_hash = reps
            .first()
            .map(|r| {
                let g = main_token(&r.given).unwrap_or("");
                let f = main_token(&r.family).unwrap_or("");
                hash_str(&format!("{g}|{f}|{sex}"))
            })
            .unwrap_or(0);
        Prepared {
            p,
            reps,
            sex,
            dob,
            yob,
            voter,
            phone,
            relation,
            relative,
            rel_given,
            sort_key,
            name_hash,
            name_adj: 0.0,
            household: clean(&p.household_id).map(hash_str).unwrap_or(0),
        }
    }

    /// The person this was prepared from.
    pub fn person(&self) -> &'a Person {
        self.p
    }

    fn display(&self, source: u8) -> String {
        if source == 1 {
            return self.p.name_hi.clone().unwrap_or_default();
        }
        match clean(&self.p.family_name) {
            Some(f) => format!("{} {}", self.p.given_name.trim(), f),
            None => self.p.given_name.trim().to_string(),
        }
    }

    /// Blocking keys, see [`blocking_keys`].
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::with_capacity(7);
        if let Some(v) = &self.voter {
            keys.push(format!("v:{v}"));
        }
        if let Some(ph) = &self.phone {
            keys.push(format!("p:{ph}"));
        }
        let Some(rep) = self.reps.first() else { return keys };
        let g = main_token(&rep.given).or(main_token(&rep.family)).unwrap_or("");
        let f = main_token(&rep.family).unwrap_or("");
        let gs: String = phonetic::skeleton(g).chars().take(3).collect();
        let fs: String = phonetic::skeleton(f).chars().take(3).collect();
        let g1 = gs.chars().next().unwrap_or('_');
        let f1 = fs.chars().next().unwrap_or('_');
        let sex = self.sex;
        if let Some(w) = self.p.ward {
            keys.push(format!("e:{gs}|{sex}|{w}"));
        }
        match self.yob {
            Some(y) => {
                let (d1, d2) = (y.div_euclid(10), (y + 5).div_euclid(10));
                keys.push(format!("a:{gs}|{f1}|{sex}|{d1}"));
                keys.push(format!("b:{gs}|{f1}|{sex}|{d2}"));
                if !fs.is_empty() {
                    keys.push(format!("c:{fs}|{g1}|{sex}|{d1}"));
                    keys.push(format!("d:{fs}|{g1}|{sex}|{d2}"));
                }
            }
            None => {
                keys.push(format!("a:{gs}|{f1}|{sex}|?"));
                if !fs.is_empty() {
                    keys.push(format!("c:{fs}|{g1}|{sex}|?"));
                }
            }
        }
        keys
    }
}

/// Similarity of two name representations.
fn rep_sim(x: &NameRep, y: &NameRep) -> f32 {
    let g = phonetic::set_sim(&x.given, &y.given);
    if !x.family.is_empty() && !y.family.is_empty() {
        let straight = 0.65 * g + 0.35 * phonetic::set_sim(&x.family, &y.family);
        let swapped =
            0.65 * phonetic::set_sim(&x.given, &y.family) + 0.35 * phonetic::set_sim(&x.family, &y.given) - 0.03;
        straight.max(swapped)
    } else {
        (g - 0.03).max(phonetic::set_sim(&x.all, &y.all) - 0.02)
    }
}

/// Best name similarity over script representations: (sim, rep a, rep b).
fn name_sim(a: &Prepared, b: &Prepared) -> (f32, usize, usize) {
    let mut best = (0.0f32, 0, 0);
    for (i, x) in a.reps.iter().enumerate() {
        if let Some(j) = b.reps.iter().position(|y| y.all == x.all) {
            return (1.0, i, j);
        }
    }
    for (i, x) in a.reps.iter().enumerate() {
        for (j, y) in b.reps.iter().enumerate() {
            let s = rep_sim(x, y);
            if s > best.0 {
                best = (s, i, j);
            }
        }
    }
    best
}

/// Points for a name similarity; `strict` inside one household.
fn name_points(s: f32, strict: bool) -> f32 {
    let p = if s >= 0.92 {
        3.2 + (s - 0.92) * 10.0
    } else if s >= 0.86 {
        2.0 + (s - 0.86) * 20.0
    } else if s >= 0.80 {
        (s - 0.80) * 33.3
    } else {
        ((s - 0.80) * 60.0).max(-6.0)
    };
    if strict && s < 0.97 { p - 4.0 } else { p }
}

fn push(reasons: &mut Option<&mut Vec<Reason>>, code: ReasonCode, detail: impl FnOnce() -> String) {
    if let Some(r) = reasons.as_deref_mut() {
        r.push(Reason { code, detail: detail() });
    }
}

fn dob_str(p: &Person) -> &str {
    p.date_of_birth.as_deref().unwrap_or("").trim()
}

/// Evidence points for a pair; fills `reasons` when given.
fn points(a: &Prepared, b: &Prepared, mut reasons: Option<&mut Vec<Reason>>) -> f32 {
    let explain = reasons.is_some();
    let mut pts = 0.0f32;
    // Sex
    if a.sex != 0 && b.sex != 0 && a.sex != b.sex {
        pts -= 8.0;
    }
    // Voter id
    let mut same_voter = false;
    if let (Some(x), Some(y)) = (&a.voter, &b.voter) {
        if x == y {
            same_voter = true;
            pts += 7.0;
            push(&mut reasons, ReasonCode::SameVoterId, || format!("voter id: {x}"));
        } else if x.len() != y.len() || x.bytes().zip(y.bytes()).filter(|(p, q)| p != q).count() > 1 {
            pts -= 6.0;
            push(&mut reasons, ReasonCode::DifferentVoterId, || format!("voter ids differ: {x} / {y}"));
        }
    }
    // Birth
    match (a.dob, b.dob) {
        (Some(x), Some(y)) => {
            if x == y {
                pts += 3.5;
                push(&mut reasons, ReasonCode::SameDateOfBirth, || format!("date of birth: {}", dob_str(a.p)));
            } else if (x.0 == y.0 && (x.1 == y.1 || x.2 == y.2 || (x.1 == y.2 && x.2 == y.1)))
                || ((x.0 - y.0).abs() <= 1 && x.1 == y.1 && x.2 == y.2)
            {
                pts += 0.5;
                push(&mut reasons, ReasonCode::SameBirthYear, || {
                    format!("dates of birth nearly equal: {} / {}", dob_str(a.p), dob_str(b.p))
                });
            } else {
                pts -= if (x.0 - y.0).abs() <= 2 { 4.0 } else { 6.0 };
                push(&mut reasons, ReasonCode::DifferentDateOfBirth, || {
                    format!("dates of birth differ: {} / {}", dob_str(a.p), dob_str(b.p))
                });
            }
        }
        _ => {
            if let (Some(x), Some(y)) = (a.yob, b.yob) {
                let d = (x - y).abs();
                let p = match d {
                    0 => 1.5,
                    1 => 1.0,
                    2 => 0.5,
                    3 | 4 => -2.0,
                    _ => -6.0,
                };
                pts += p;
                if p > 0.0 {
                    push(&mut reasons, ReasonCode::SameBirthYear, || {
                        if d == 0 {
                            format!("birth year: {x} (estimated on one side)")
                        } else {
                            format!("birth years {x} / {y} (within ±2, estimated)")
                        }
                    });
                }
            }
        }
    }
    // Phone
    match (&a.phone, &b.phone) {
        (Some(x), Some(y)) if x == y => {
            pts += 1.5;
            push(&mut reasons, ReasonCode::SamePhone, || format!("phone: {x}"));
        }
        (Some(_), Some(_)) => pts -= 0.3,
        _ => {}
    }
    // Household and relation
    let same_household = a.household != 0 && a.household == b.household;
    let mut same_relation = false;
    if same_household {
        match (a.relation, b.relation) {
            (Some(x), Some(y)) if x == y => {
                same_relation = true;
                if matches!(x, Rel::Head | Rel::Spouse) {
                    pts += 3.0;
                    push(&mut reasons, ReasonCode::SameHouseholdAndRelation, || {
                        format!(
                            "household {}, both {}",
                            a.p.household_id.as_deref().unwrap_or("").trim(),
                            a.p.relation.as_deref().unwrap_or("").trim()
                        )
                    });
                }
            }
            (Some(_), Some(_)) => pts -= 4.0,
            _ => {}
        }
    }
    // Ward
    if let (Some(x), Some(y)) = (a.p.ward, b.p.ward) {
        if x == y {
            pts += 1.0;
            push(&mut reasons, ReasonCode::SameWard, || format!("ward {x}"));
        } else {
            pts -= 0.5;
        }
    }
    // The most the name and relative can still add.
    let same_phone = a.phone.is_some() && a.phone == b.phone;
    let both_relatives = !a.relative.is_empty() && !b.relative.is_empty();
    let upper = 4.5
        + if same_household { 2.5 } else { 0.0 }
        + if same_phone && !same_household { 1.5 } else { 0.0 }
        + if both_relatives { 2.5 } else { 0.0 };
    if !explain && pts + upper < MID_POINTS {
        return pts; // nothing left can reach the threshold: skip the name work
    }
    // Name
    let (ns, ra, rb) = name_sim(a, b);
    // Inside a household, children's names must be near-identical to count.
    // Siblings share all else; same birth (date, or year when estimated) aside.
    let same_birth = match (a.dob, b.dob) {
        (Some(x), Some(y)) => x == y,
        _ => a.yob.is_some() && a.yob == b.yob,
    };
    let strict = same_household && !same_birth && !matches!(a.relation, Some(Rel::Head | Rel::Spouse));
    pts += name_points(ns, strict);
    if ns >= 0.9 && !same_household && same_phone {
        // One phone outside a household and the same name: the same person.
        pts += 1.5;
    }
    if ns >= 0.9 {
        // Common names agree by chance more often (population frequency).
        pts += a.name_adj.min(b.name_adj);
    }
    if same_household && ns >= 0.97 && !matches!(a.relation, Some(Rel::Head | Rel::Spouse)) {
        // Parents do not give two children of one household the same name.
        pts += 2.5;
        if same_relation {
            push(&mut reasons, ReasonCode::SameHouseholdAndRelation, || {
                format!(
                    "household {}, both {}, same name",
                    a.p.household_id.as_deref().unwrap_or("").trim(),
                    a.p.relation.as_deref().unwrap_or("").trim()
                )
            });
        }
    }
    if ns >= 0.86 {
        push(&mut reasons, ReasonCode::SimilarName, || {
            let (x, y) = (&a.reps[ra], &b.reps[rb]);
            let (dx, dy) = (a.display(x.source), b.display(y.source));
            let kind = if dx.to_lowercase() == dy.to_lowercase() {
                "same"
            } else if x.all == y.all || {
                let mut s1 = x.all.clone();
                let mut s2 = y.all.clone();
                s1.sort();
                s2.sort();
                s1 == s2
            } {
                "transliteration/variant"
            } else if phonetic::osa_distance(&x.all.join(" "), &y.all.join(" ")) <= 2 {
                "spelling/typo"
            } else {
                "similar"
            };
            format!("name: {dx} ~ {dy} ({kind}, {:.0}%)", ns * 100.0)
        });
    }
    if !explain && pts + if both_relatives { 2.5 } else { 0.0 } < MID_POINTS {
        return pts;
    }
    // Relative name: the given part says most (the family part is shared).
    if !a.relative.is_empty() && !b.relative.is_empty() {
        let rs = phonetic::set_sim(&a.rel_given, &b.rel_given);
        let rs = if rs >= 0.9 { rs.min(phonetic::set_sim(&a.relative, &b.relative)) } else { rs };
        if rs >= 0.95 {
            pts += 2.5;
        } else if rs >= 0.9 {
            pts += 1.0;
        } else if rs < 0.88 {
            pts -= 1.5;
        }
        if rs >= 0.9 {
            push(&mut reasons, ReasonCode::SimilarRelativeName, || {
                format!(
                    "relative: {} ~ {}",
                    a.p.relative_name.as_deref().unwrap_or("").trim(),
                    b.p.relative_name.as_deref().unwrap_or("").trim()
                )
            });
        } else if rs < 0.88 {
            push(&mut reasons, ReasonCode::DifferentRelativeName, || {
                format!(
                    "relatives differ: {} / {}",
                    a.p.relative_name.as_deref().unwrap_or("").trim(),
                    b.p.relative_name.as_deref().unwrap_or("").trim()
                )
            });
        }
    }
    let _ = same_voter;
    pts
}

fn to_score(pts: f32) -> f32 {
    1.0 / (1.0 + (-(pts - MID_POINTS) / SCALE).exp())
}

/// Score two prepared people; `Some` only when the score reaches [`THRESHOLD`].
pub fn compare_prepared(a: &Prepared, b: &Prepared) -> Option<Match> {
    let score = to_score(points(a, b, None));
    if score < THRESHOLD {
        return None;
    }
    let mut reasons = Vec::new();
    points(a, b, Some(&mut reasons));
    Some(Match { score, reasons })
}

/// Score and reasons for any pair, also below [`THRESHOLD`] (for review
/// screens and tuning).
pub fn explain(a: &Person, b: &Person) -> Match {
    let (a, b) = (Prepared::new(a), Prepared::new(b));
    let mut reasons = Vec::new();
    let score = to_score(points(&a, &b, Some(&mut reasons)));
    Match { score, reasons }
}

/// [`explain`] with name frequencies.
pub fn explain_with_stats(a: &Person, b: &Person, stats: &NameStats) -> Match {
    let (mut a, mut b) = (Prepared::new(a), Prepared::new(b));
    stats.adjust(&mut a);
    stats.adjust(&mut b);
    let mut reasons = Vec::new();
    let score = to_score(points(&a, &b, Some(&mut reasons)));
    Match { score, reasons }
}

/// Score two people; `Some` only when score >= [`THRESHOLD`].
pub fn compare(a: &Person, b: &Person) -> Option<Match> {
    compare_prepared(&Prepared::new(a), &Prepared::new(b))
}

/// Blocking keys (short strings, at most 7 per person) such that likely
/// duplicates share at least one key: `v:` voter id, `p:` phone, and name
/// keys from consonant skeletons of the given and family names with sex
/// and birth decade (two grids) or ward. See the crate documentation.
pub fn blocking_keys(p: &Person) -> Vec<String> {
    Prepared::new(p).keys()
}

/// Candidates for a new person among `others` (already fetched via blocking
/// keys), best first, each with its [`Match`].
pub fn check<'a>(new: &Person, others: impl IntoIterator<Item = &'a Person>) -> Vec<(&'a Person, Match)> {
    let n = Prepared::new(new);
    let mut out: Vec<(&'a Person, Match)> =
        others.into_iter().filter_map(|o| compare_prepared(&n, &Prepared::new(o)).map(|m| (o, m))).collect();
    out.sort_by(|x, y| y.1.score.total_cmp(&x.1.score));
    out
}

/// How common each name (main given token, main family token, sex) is in a
/// population: agreement on a common name is weaker evidence. Used by
/// [`find_pairs`]; a tablet can build one over its ward for
/// [`check_with_stats`]. Below [`NameStats::MIN_PEOPLE`] it has no effect.
#[derive(Clone, Debug, Default)]
pub struct NameStats {
    counts: std::collections::HashMap<u64, u32>,
    total: usize,
}

impl NameStats {
    /// Populations smaller than this give no frequency adjustment.
    pub const MIN_PEOPLE: usize = 5_000;

    pub fn from_people<'a>(people: impl IntoIterator<Item = &'a Person>) -> Self {
        let mut s = NameStats::default();
        for p in people {
            s.add(p);
        }
        s
    }

    fn from_prepared(people: &[Prepared]) -> Self {
        let mut s = NameStats::default();
        for p in people {
            *s.counts.entry(p.name_hash).or_default() += 1;
            s.total += 1;
        }
        s
    }

    /// Count one more person.
    pub fn add(&mut self, p: &Person) {
        *self.counts.entry(Prepared::new(p).name_hash).or_default() += 1;
        self.total += 1;
    }

    /// Points for agreeing on this person's name: +0.5 for a rare name, down
    /// to -2.5 for a very common one; neutral at 100 people of that name.
    fn adjust(&self, p: &mut Prepared) {
        if self.total < Self::MIN_PEOPLE || p.name_hash == 0 {
            return;
        }
        // The more people share a name, the likelier a chance agreement:
        // scored on the count itself, as each is compared with all the others.
        let c = self.counts.get(&p.name_hash).copied().unwrap_or(0).max(1) as f32;
        p.name_adj = (-0.6 * (c / 100.0).log2()).clamp(-2.5, 0.5);
    }
}

/// [`check`] with name frequencies of the population searched.
pub fn check_with_stats<'a>(
    new: &Person,
    others: impl IntoIterator<Item = &'a Person>,
    stats: &NameStats,
) -> Vec<(&'a Person, Match)> {
    let mut n = Prepared::new(new);
    stats.adjust(&mut n);
    let mut out: Vec<(&'a Person, Match)> = others
        .into_iter()
        .filter_map(|o| {
            let mut p = Prepared::new(o);
            stats.adjust(&mut p);
            compare_prepared(&n, &p).map(|m| (o, m))
        })
        .collect();
    out.sort_by(|x, y| y.1.score.total_cmp(&x.1.score));
    out
}

/// A likely duplicate pair: indexes into the input slice, `a < b`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pair {
    pub a: usize,
    pub b: usize,
    pub m: Match,
}

/// Counters from [`find_pairs_with_stats`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    pub blocks: usize,
    pub big_blocks: usize,
    pub largest_block: usize,
    pub comparisons: u64,
}

/// All likely duplicate pairs in a population via blocking, over all cores.
pub fn find_pairs(people: &[Person]) -> Vec<Pair> {
    find_pairs_with_stats(people).0
}

fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(1)
}

/// Map `f` over `0..n` in contiguous chunks on every core, in order.
fn par_chunks<T: Send>(n: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let t = threads();
    let chunk = n.div_ceil(t).max(1);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> =
            (0..t).map(|k| s.spawn(move || f((k * chunk).min(n)..((k + 1) * chunk).min(n)))).collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

/// [`find_pairs`] with counters.
pub fn find_pairs_with_stats(people: &[Person]) -> (Vec<Pair>, Stats) {
    let n = people.len();
    let mut prepped: Vec<Prepared> =
        par_chunks(n, |r| people[r].iter().map(Prepared::new).collect::<Vec<_>>()).into_iter().flatten().collect();
    let stats = NameStats::from_prepared(&prepped);
    for p in &mut prepped {
        stats.adjust(p);
    }
    let keys: Vec<Vec<u64>> = par_chunks(n, |r| {
        prepped[r].iter().map(|p| p.keys().iter().map(|k| hash_str(k)).collect::<Vec<u64>>()).collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    let mut entries: Vec<(u64, u32)> = Vec::with_capacity(n * 7);
    for (i, ks) in keys.iter().enumerate() {
        for &k in ks {
            entries.push((k, i as u32));
        }
    }
    entries.sort_unstable();
    // Blocks as ranges of `entries`.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut s = 0;
    while s < entries.len() {
        let mut e = s + 1;
        while e < entries.len() && entries[e].0 == entries[s].0 {
            e += 1;
        }
        if e - s >= 2 {
            blocks.push((s, e));
        }
        s = e;
    }
    let mut stats = Stats {
        blocks: blocks.len(),
        big_blocks: blocks.iter().filter(|b| b.1 - b.0 > BLOCK_CAP).count(),
        largest_block: blocks.iter().map(|b| b.1 - b.0).max().unwrap_or(0),
        comparisons: 0,
    };
    let big_keys: std::collections::HashSet<u64> =
        blocks.iter().filter(|b| b.1 - b.0 > BLOCK_CAP).map(|b| entries[b.0].0).collect();
    // Interleave blocks over threads so each gets a fair share.
    let t = threads();
    let results = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..t)
            .map(|tid| {
                let (blocks, entries, keys, prepped, big_keys) = (&blocks, &entries, &keys, &prepped, &big_keys);
                sc.spawn(move || {
                    let mut out = Vec::new();
                    let mut comps = 0u64;
                    let mut members: Vec<u32> = Vec::new();
                    for &(s, e) in blocks.iter().skip(tid).step_by(t) {
                        let key = entries[s].0;
                        members.clear();
                        members.extend(entries[s..e].iter().map(|x| x.1));
                        let big = members.len() > BLOCK_CAP;
                        let passes = if big { 2 } else { 1 };
                        for pass in 0..passes {
                            if big {
                                members.sort_by(|&x, &y| {
                                    let (px, py) = (&prepped[x as usize], &prepped[y as usize]);
                                    if pass == 0 {
                                        px.sort_key.cmp(&py.sort_key).then(px.yob.cmp(&py.yob))
                                    } else {
                                        (px.p.ward, px.yob)
                                            .cmp(&(py.p.ward, py.yob))
                                            .then(px.sort_key.cmp(&py.sort_key))
                                    }
                                });
                            }
                            for i in 0..members.len() {
                                let hi = if big { (i + 1 + WINDOW).min(members.len()) } else { members.len() };
                                for j in i + 1..hi {
                                    let (x, y) = (members[i] as usize, members[j] as usize);
                                    // Count a pair once, in the first key both share,
                                    // unless that key's block was windowed.
                                    let first = keys[x].iter().find(|k| keys[y].contains(k));
                                    if first.is_some_and(|&k| k != key && !big_keys.contains(&k)) {
                                        continue;
                                    }
                                    comps += 1;
                                    if let Some(m) = compare_prepared(&prepped[x], &prepped[y]) {
                                        let (a, b) = if x < y { (x, y) } else { (y, x) };
                                        out.push(Pair { a, b, m });
                                    }
                                }
                            }
                        }
                    }
                    (out, comps)
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect::<Vec<_>>()
    });
    let mut pairs = Vec::new();
    for (p, c) in results {
        pairs.extend(p);
        stats.comparisons += c;
    }
    pairs.sort_by_key(|p| (p.a, p.b));
    pairs.dedup_by(|x, y| x.a == y.a && x.b == y.b);
    (pairs, stats)
}

/// Normalised Latin phonetic form of a name in either script: tokens'
/// phonetic keys joined by single spaces.
pub fn name_key(name: &str) -> String {
    phonetic::name_tokens(name).join(" ")
}
