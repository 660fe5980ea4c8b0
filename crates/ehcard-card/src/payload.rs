//! What a card carries and how it is laid out in CBOR (see
//! `schema/card-payload.md`).

use chrono::NaiveDate;
use ciborium::Value;
use ehcard_core::ids::HealthId;
use ehcard_core::model::{Record, RecordKind};
use serde::Serialize;

use crate::{CardError, cose, text};

/// CWT claim keys (RFC 8392) and Claim 169.
const ISS: i64 = 1;
const EXP: i64 = 4;
const IAT: i64 = 6;
const CLAIM_169: i64 = 169;
/// Our private claims (CWT private range, below -65536).
pub const CLAIM_CARD: i64 = -70_001;
pub const CLAIM_CLINICAL: i64 = -70_002;

/// Provisional cards come from a tablet and expire; permanent ones come
/// from the registry after review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    Provisional,
    Permanent,
}

/// The clinical summary, printed only with the resident's consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clinical {
    pub blood_group: Option<String>,
    pub allergies: Vec<String>,
    pub chronic_conditions: Vec<String>,
    pub emergency_name: Option<String>,
    pub emergency_phone: Option<String>,
}

/// Everything printed on (and encoded in) a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardData {
    pub health_id: String,
    pub given_name: String,
    pub family_name: Option<String>,
    pub name_hi: Option<String>,
    pub date_of_birth: Option<String>,
    pub birth_year: Option<i64>,
    pub sex: Option<String>,
    pub address: Vec<String>,
    pub phone: Option<String>,
    pub clinical: Option<Clinical>,
}

impl CardData {
    pub fn full_name(&self) -> String {
        match &self.family_name {
            Some(f) => format!("{} {f}", self.given_name),
            None => self.given_name.clone(),
        }
    }

    /// The card for a resident: identity always, the clinical summary only
    /// when `consent.share_clinical_on_card` is true.
    pub fn from_record(r: &Record) -> Result<CardData, CardError> {
        if r.meta.kind != RecordKind::Resident {
            return Err(CardError::NotACard(format!("{} is a household, not a resident", r.meta.id)));
        }
        let hid = r.meta.health_id.ok_or_else(|| CardError::NoHealthId(r.meta.id.to_string()))?;
        let f = &r.fields;
        let t = |p: &str| f.text(p).map(str::to_string);
        let mut address = Vec::new();
        let line1 = [f.text("address.house"), f.text("address.street")].into_iter().flatten().collect::<Vec<_>>();
        if !line1.is_empty() {
            address.push(line1.join(", "));
        }
        let mut line2: Vec<String> = f.text("address.locality").map(str::to_string).into_iter().collect();
        if let Some(w) = f.int("address.ward") {
            line2.push(format!("Ward {w}"));
        }
        if !line2.is_empty() {
            address.push(line2.join(", "));
        }
        let mut line3 = String::from("Delhi");
        if let Some(pin) = f.text("address.pincode") {
            line3 = format!("Delhi {pin}");
        }
        address.push(line3);
        let consent = f.get("consent.share_clinical_on_card").and_then(|v| v.as_bool()).unwrap_or(false);
        let clinical = consent.then(|| Clinical {
            blood_group: t("blood_group"),
            allergies: f.set_items("allergies").into_iter().map(str::to_string).collect(),
            chronic_conditions: f.set_items("chronic_conditions").into_iter().map(str::to_string).collect(),
            emergency_name: t("emergency_contact.name"),
            emergency_phone: t("emergency_contact.phone"),
        });
        Ok(CardData {
            health_id: hid.to_string(),
            given_name: t("given_name").unwrap_or_default(),
            family_name: t("family_name"),
            name_hi: t("name_hi"),
            date_of_birth: t("date_of_birth"),
            birth_year: ehcard_core::model::birth_year(f),
            sex: t("sex"),
            address,
            phone: t("phone"),
            clinical,
        })
    }
}

/// Who signed a card, when, and for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    pub issuer: String,
    pub kind: CardKind,
    /// Seconds since the epoch.
    pub issued_at: i64,
    pub expires_at: Option<i64>,
}

fn i(n: i64) -> Value {
    Value::Integer(n.into())
}

fn s(t: &str) -> Value {
    Value::Text(t.to_string())
}

fn identity(card: &CardData) -> Value {
    let mut m: Vec<(Value, Value)> = Vec::new();
    let compact: String = card.health_id.chars().filter(char::is_ascii_digit).collect();
    m.push((i(1), s(&compact)));
    m.push((i(3), s("eng")));
    m.push((i(4), s(&card.full_name())));
    m.push((i(5), s(&card.given_name)));
    if let Some(f) = &card.family_name {
        m.push((i(7), s(f)));
    }
    if let Some(d) = &card.date_of_birth {
        m.push((i(8), s(&d.replace('-', ""))));
    }
    if let Some(g) = card.sex.as_deref().and_then(|x| match x {
        "male" => Some(1),
        "female" => Some(2),
        "other" => Some(3),
        _ => None,
    }) {
        m.push((i(9), i(g)));
    }
    if !card.address.is_empty() {
        m.push((i(10), s(&card.address.join("\n"))));
    }
    if let Some(p) = &card.phone {
        m.push((i(12), s(&format!("+91{p}"))));
    }
    if let Some(h) = &card.name_hi {
        m.push((i(19), s(h)));
        m.push((i(20), s("hin")));
    }
    Value::Map(m)
}

fn texts(items: &[String]) -> Value {
    Value::Array(items.iter().map(|x| s(x)).collect())
}

/// The signed QR text of a card.
pub fn encode(card: &CardData, issue: &Issue, kid: &[u8], key_pkcs8: &[u8]) -> Result<String, CardError> {
    let mut claims = vec![(i(ISS), s(&issue.issuer)), (i(IAT), i(issue.issued_at))];
    if let Some(e) = issue.expires_at {
        claims.push((i(EXP), i(e)));
    }
    claims.push((i(CLAIM_169), identity(card)));
    let mut ours = vec![(i(1), i(if issue.kind == CardKind::Provisional { 1 } else { 2 }))];
    if let Some(y) = card.birth_year {
        ours.push((i(2), i(y)));
    }
    claims.push((i(CLAIM_CARD), Value::Map(ours)));
    if let Some(c) = &card.clinical {
        let mut m = Vec::new();
        if let Some(b) = &c.blood_group {
            m.push((i(1), s(b)));
        }
        if !c.allergies.is_empty() {
            m.push((i(2), texts(&c.allergies)));
        }
        if !c.chronic_conditions.is_empty() {
            m.push((i(3), texts(&c.chronic_conditions)));
        }
        if let Some(n) = &c.emergency_name {
            m.push((i(4), s(n)));
        }
        if let Some(p) = &c.emergency_phone {
            m.push((i(5), s(p)));
        }
        claims.push((i(CLAIM_CLINICAL), Value::Map(m)));
    }
    let mut payload = Vec::new();
    // Serialising into a Vec cannot fail.
    let _ = ciborium::into_writer(&Value::Map(claims), &mut payload);
    Ok(text::to_text(&cose::sign(&payload, kid, key_pkcs8)?))
}

/// A card read from its QR text; the signature is not yet checked.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub card: CardData,
    pub issue: Issue,
    pub kid: Vec<u8>,
    pub sign1: cose::Sign1,
    /// Whether the payload holds a clinical claim at all.
    pub has_clinical_claim: bool,
}

fn get(map: &[(Value, Value)], key: i64) -> Option<&Value> {
    map.iter().find(|(k, _)| k.as_integer().map(i128::from) == Some(i128::from(key))).map(|(_, v)| v)
}

fn text_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_text).map(str::to_string)
}

fn int_of(v: Option<&Value>) -> Option<i64> {
    v.and_then(Value::as_integer).and_then(|n| i64::try_from(n).ok())
}

fn list_of(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.as_text().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub fn decode(qr_text: &str) -> Result<Decoded, CardError> {
    let sign1 = cose::parse(&text::from_text(qr_text)?)?;
    let claims: Value =
        ciborium::from_reader(&sign1.payload[..]).map_err(|_| CardError::NotACard("the payload is not CBOR".into()))?;
    let claims = claims.as_map().ok_or_else(|| CardError::NotACard("the payload is not a CWT".into()))?;
    let id = get(claims, CLAIM_169)
        .and_then(Value::as_map)
        .ok_or_else(|| CardError::NotACard("no Claim 169 identity".into()))?;
    let ours = get(claims, CLAIM_CARD).and_then(Value::as_map);
    let clinical = get(claims, CLAIM_CLINICAL).and_then(Value::as_map);
    let compact = text_of(get(id, 1)).ok_or_else(|| CardError::NotACard("no ID in Claim 169".into()))?;
    let health_id = compact.parse::<HealthId>().map(|h| h.to_string()).unwrap_or(compact);
    let dob = text_of(get(id, 8)).and_then(|d| NaiveDate::parse_from_str(&d, "%Y%m%d").ok()).map(|d| d.to_string());
    let card = CardData {
        health_id,
        given_name: text_of(get(id, 5)).or_else(|| text_of(get(id, 4))).unwrap_or_default(),
        family_name: text_of(get(id, 7)),
        name_hi: text_of(get(id, 19)),
        birth_year: ours.and_then(|o| int_of(get(o, 2))).or_else(|| dob.as_ref().and_then(|d| d[..4].parse().ok())),
        date_of_birth: dob,
        sex: int_of(get(id, 9)).and_then(|g| match g {
            1 => Some("male".into()),
            2 => Some("female".into()),
            3 => Some("other".into()),
            _ => None,
        }),
        address: text_of(get(id, 10)).map(|a| a.lines().map(str::to_string).collect()).unwrap_or_default(),
        phone: text_of(get(id, 12)).map(|p| p.trim_start_matches("+91").to_string()),
        clinical: clinical.map(|c| Clinical {
            blood_group: text_of(get(c, 1)),
            allergies: list_of(get(c, 2)),
            chronic_conditions: list_of(get(c, 3)),
            emergency_name: text_of(get(c, 4)),
            emergency_phone: text_of(get(c, 5)),
        }),
    };
    let issue = Issue {
        issuer: text_of(get(claims, ISS)).unwrap_or_default(),
        kind: if ours.and_then(|o| int_of(get(o, 1))) == Some(2) { CardKind::Permanent } else { CardKind::Provisional },
        issued_at: int_of(get(claims, IAT)).unwrap_or(0),
        expires_at: int_of(get(claims, EXP)),
    };
    Ok(Decoded { card, issue, kid: sign1.kid.clone(), has_clinical_claim: clinical.is_some(), sign1 })
}
