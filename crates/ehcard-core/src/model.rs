//! Record format v1: the fields of a resident and of a household, how they
//! are read from JSON, validated and written back.
//!
//! The schema is a table ([`RESIDENT_FIELDS`], [`HOUSEHOLD_FIELDS`]) of dotted
//! paths and kinds. Parsing, validation, `--set path=value` edits, the CRDT
//! mapping and the JSON output are all driven by it, so a field is declared
//! once. `schema/record-v1.schema.json` is the same contract for other tools.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Map, Value};

use crate::ids::{HealthId, RecordId};
use crate::validate::{FieldError, Rule};

/// What kind of document a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    Resident,
    Household,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Resident => "resident",
            RecordKind::Household => "household",
        }
    }

    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            RecordKind::Resident => RESIDENT_FIELDS,
            RecordKind::Household => HOUSEHOLD_FIELDS,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "resident" => Some(RecordKind::Resident),
            "household" => Some(RecordKind::Household),
            _ => None,
        }
    }
}

/// How a text field is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextRule {
    /// Any printable text.
    Plain,
    /// Text that must be Devanagari script.
    Devanagari,
    /// Indian mobile number: 10 digits starting with 6-9.
    Phone,
    /// EPIC voter id: 3 letters and 7 digits.
    VoterId,
    /// Delhi PIN code 110001-110099.
    Pincode,
    /// A record id (UUIDv7).
    Id,
}

/// The kind of value a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text {
        rule: TextRule,
        max: usize,
    },
    Enum(&'static [&'static str]),
    /// A calendar date, `YYYY-MM-DD`, not in the future.
    Date,
    /// A year of birth, 1900 to this year.
    Year,
    /// A municipal ward, 1-250.
    Ward,
    Bool,
    /// A set of short texts (merges as a set: concurrent adds are all kept).
    Set {
        rule: TextRule,
        max_items: usize,
    },
}

/// One field of the record format.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// Dotted path, e.g. `address.ward`.
    pub path: &'static str,
    pub kind: Kind,
    pub required: bool,
}

const fn text(path: &'static str, rule: TextRule, max: usize) -> FieldSpec {
    FieldSpec { path, kind: Kind::Text { rule, max }, required: false }
}

const fn set(path: &'static str) -> FieldSpec {
    FieldSpec { path, kind: Kind::Set { rule: TextRule::Plain, max_items: 50 }, required: false }
}

pub const SEXES: &[&str] = &["female", "male", "other"];
pub const BLOOD_GROUPS: &[&str] = &["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-", "unknown"];
pub const RELATIONS: &[&str] = &[
    "self",
    "spouse",
    "son",
    "daughter",
    "father",
    "mother",
    "brother",
    "sister",
    "grandchild",
    "grandparent",
    "son_in_law",
    "daughter_in_law",
    "other_relative",
    "unrelated",
];
pub const MARITAL: &[&str] = &["never_married", "married", "widowed", "separated", "divorced"];
/// Where a resident stands: `unverified` rows come from the electoral roll
/// until a worker confirms them; a record without a status was enrolled in
/// the field and counts as `verified`.
pub const STATUSES: &[&str] = &["unverified", "verified", "moved", "deceased", "not_found"];
/// Whose name `relative_name` is, as the electoral roll gives it.
pub const RELATION_TYPES: &[&str] = &["father", "husband", "mother", "wife", "other"];

/// The resident's fields, in the order they are shown.
pub static RESIDENT_FIELDS: &[FieldSpec] = &[
    FieldSpec { path: "household_id", kind: Kind::Text { rule: TextRule::Id, max: 36 }, required: false },
    FieldSpec { path: "given_name", kind: Kind::Text { rule: TextRule::Plain, max: 100 }, required: true },
    text("family_name", TextRule::Plain, 100),
    text("name_hi", TextRule::Devanagari, 200),
    FieldSpec { path: "sex", kind: Kind::Enum(SEXES), required: true },
    FieldSpec { path: "date_of_birth", kind: Kind::Date, required: false },
    FieldSpec { path: "birth_year", kind: Kind::Year, required: false },
    text("phone", TextRule::Phone, 10),
    text("voter_id", TextRule::VoterId, 10),
    text("address.house", TextRule::Plain, 100),
    text("address.street", TextRule::Plain, 200),
    text("address.locality", TextRule::Plain, 200),
    FieldSpec { path: "address.ward", kind: Kind::Ward, required: true },
    text("address.pincode", TextRule::Pincode, 6),
    FieldSpec { path: "blood_group", kind: Kind::Enum(BLOOD_GROUPS), required: false },
    set("allergies"),
    set("chronic_conditions"),
    set("disabilities"),
    FieldSpec { path: "pregnant", kind: Kind::Bool, required: false },
    FieldSpec { path: "relation_to_head", kind: Kind::Enum(RELATIONS), required: false },
    FieldSpec { path: "relation_type", kind: Kind::Enum(RELATION_TYPES), required: false },
    text("relative_name", TextRule::Plain, 200),
    FieldSpec { path: "marital_status", kind: Kind::Enum(MARITAL), required: false },
    text("occupation", TextRule::Plain, 100),
    text("emergency_contact.name", TextRule::Plain, 200),
    text("emergency_contact.phone", TextRule::Phone, 10),
    FieldSpec { path: "consent.share_clinical_on_card", kind: Kind::Bool, required: false },
    text("notes", TextRule::Plain, 1000),
    FieldSpec { path: "status", kind: Kind::Enum(STATUSES), required: false },
    text("roll_part", TextRule::Plain, 10),
    text("roll_serial", TextRule::Plain, 10),
    FieldSpec { path: "merged_into", kind: Kind::Text { rule: TextRule::Id, max: 36 }, required: false },
];

/// The household's fields.
pub static HOUSEHOLD_FIELDS: &[FieldSpec] = &[
    text("address.house", TextRule::Plain, 100),
    text("address.street", TextRule::Plain, 200),
    text("address.locality", TextRule::Plain, 200),
    FieldSpec { path: "address.ward", kind: Kind::Ward, required: true },
    text("address.pincode", TextRule::Pincode, 6),
    text("head_id", TextRule::Id, 36),
    FieldSpec { path: "members", kind: Kind::Set { rule: TextRule::Id, max_items: 100 }, required: false },
    text("notes", TextRule::Plain, 1000),
];

/// Top-level objects that hold nested fields (always present in a document).
pub fn nested_objects(kind: RecordKind) -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for f in kind.fields() {
        if let Some((head, _)) = f.path.split_once('.')
            && !seen.contains(&head)
        {
            seen.push(head);
        }
    }
    seen.into_iter()
}

/// Output-only keys that a record's JSON carries beside its fields.
pub const META_KEYS: &[&str] =
    &["id", "kind", "health_id", "enrolled_by", "enrolled_device", "enrolled_at", "updated_at", "conflicts"];

pub fn spec(kind: RecordKind, path: &str) -> Option<&'static FieldSpec> {
    kind.fields().iter().find(|f| f.path == path)
}

/// A field's value.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Text(String),
    Int(i64),
    Bool(bool),
    /// Items keyed by their folded form (case and spacing), holding the text
    /// as first written.
    Set(BTreeMap<String, String>),
}

impl FieldValue {
    pub fn to_json(&self) -> Value {
        match self {
            FieldValue::Text(s) => Value::String(s.clone()),
            FieldValue::Int(i) => Value::from(*i),
            FieldValue::Bool(b) => Value::Bool(*b),
            FieldValue::Set(items) => Value::Array(items.values().cloned().map(Value::String).collect()),
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            FieldValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            FieldValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// The fold used as a set key: trimmed, single-spaced, lower case.
pub fn set_key(item: &str) -> String {
    squash(item).to_lowercase()
}

/// Trim and collapse runs of whitespace to one space.
pub fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The values of a record's fields, by path; absent fields are not stored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fields(pub BTreeMap<&'static str, FieldValue>);

impl Fields {
    pub fn get(&self, path: &str) -> Option<&FieldValue> {
        self.0.get(path)
    }

    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(FieldValue::as_text)
    }

    pub fn int(&self, path: &str) -> Option<i64> {
        self.get(path).and_then(FieldValue::as_int)
    }

    pub fn set_items(&self, path: &str) -> Vec<&str> {
        match self.get(path) {
            Some(FieldValue::Set(items)) => items.values().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Output-only facts about a record, kept in its document.
#[derive(Clone, Debug, PartialEq)]
pub struct Meta {
    pub id: RecordId,
    pub kind: RecordKind,
    pub health_id: Option<HealthId>,
    pub enrolled_by: String,
    pub enrolled_device: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A field whose concurrent values disagree; every value is kept.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Conflict {
    pub field: String,
    pub values: Vec<Value>,
}

/// A record as read from its document.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub meta: Meta,
    pub fields: Fields,
    pub conflicts: Vec<Conflict>,
}

impl Record {
    /// Record format v1 output.
    pub fn to_json(&self) -> Value {
        let mut root = Map::new();
        root.insert("id".into(), Value::String(self.meta.id.to_string()));
        root.insert("kind".into(), Value::String(self.meta.kind.as_str().into()));
        if let Some(h) = &self.meta.health_id {
            root.insert("health_id".into(), Value::String(h.to_string()));
        }
        for nested in nested_objects(self.meta.kind) {
            root.insert(nested.into(), Value::Object(Map::new()));
        }
        for spec in self.meta.kind.fields() {
            let value = match (self.fields.get(spec.path), spec.kind) {
                (Some(v), _) => v.to_json(),
                (None, Kind::Set { .. }) => Value::Array(Vec::new()),
                (None, _) => continue,
            };
            put_path(&mut root, spec.path, value);
        }
        root.insert("enrolled_by".into(), Value::String(self.meta.enrolled_by.clone()));
        if let Some(d) = &self.meta.enrolled_device {
            root.insert("enrolled_device".into(), Value::String(d.clone()));
        }
        root.insert("enrolled_at".into(), Value::String(rfc3339(&self.meta.enrolled_at)));
        root.insert("updated_at".into(), Value::String(rfc3339(&self.meta.updated_at)));
        root.insert("conflicts".into(), serde_json::to_value(&self.conflicts).unwrap_or(Value::Array(Vec::new())));
        Value::Object(root)
    }

    /// The display name: given and family name.
    pub fn display_name(&self) -> String {
        let given = self.fields.text("given_name").unwrap_or("");
        match self.fields.text("family_name") {
            Some(f) => format!("{given} {f}"),
            None => given.to_string(),
        }
    }
}

pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn put_path(root: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            root.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let entry = root.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                put_path(m, rest, value);
            }
        }
    }
}

/// Output-only values that an input (for example an export being imported
/// into another store) may carry and that the store keeps.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Carried {
    pub health_id: Option<HealthId>,
    pub enrolled_by: Option<String>,
    pub enrolled_device: Option<String>,
    pub enrolled_at: Option<DateTime<Utc>>,
}

/// A record read from JSON input and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub kind: RecordKind,
    pub id: Option<RecordId>,
    pub fields: Fields,
    pub carried: Carried,
}

/// Read record format v1 JSON. Every problem is reported, each with its
/// field; the record is accepted only when there are none.
pub fn parse_input(kind: RecordKind, json: &Value, today: NaiveDate) -> Result<Input, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Value::Object(obj) = json else {
        return Err(vec![FieldError::new("(record)", Rule::NotObject)]);
    };
    let mut input = Input { kind, id: None, fields: Fields::default(), carried: Carried::default() };
    for (key, value) in obj {
        match key.as_str() {
            "id" => match value.as_str().map(str::parse::<RecordId>) {
                Some(Ok(id)) => input.id = Some(id),
                Some(Err(e)) => errors.push(FieldError::new("id", Rule::RecordId(e.to_string()))),
                None => errors.push(FieldError::new("id", Rule::ExpectedText)),
            },
            "kind" => {
                if value.as_str() != Some(kind.as_str()) {
                    errors.push(FieldError::new("kind", Rule::OneOf(vec![kind.as_str().to_string()])));
                }
            }
            "health_id" => match value.as_str().map(str::parse::<HealthId>) {
                Some(Ok(h)) => input.carried.health_id = Some(h),
                Some(Err(e)) => errors.push(FieldError::new("health_id", Rule::HealthId(e.to_string()))),
                None if value.is_null() => {}
                None => errors.push(FieldError::new("health_id", Rule::ExpectedText)),
            },
            "enrolled_by" => input.carried.enrolled_by = value.as_str().map(squash),
            "enrolled_device" => input.carried.enrolled_device = value.as_str().map(squash),
            "enrolled_at" => match value.as_str().map(DateTime::parse_from_rfc3339) {
                Some(Ok(t)) => input.carried.enrolled_at = Some(t.with_timezone(&Utc)),
                _ => errors.push(FieldError::new("enrolled_at", Rule::Timestamp)),
            },
            // Recomputed by the store.
            "updated_at" | "conflicts" => {}
            _ => walk(kind, key, value, today, &mut input.fields, &mut errors),
        }
    }
    // A field already reported as malformed is not reported again as missing.
    for e in validate(kind, &input.fields) {
        if !errors.iter().any(|x| x.field == e.field) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        errors.sort_by_key(|e| field_order(kind, &e.field));
        Err(errors)
    }
}

fn field_order(kind: RecordKind, path: &str) -> usize {
    kind.fields().iter().position(|f| f.path == path).unwrap_or(usize::MAX)
}

fn walk(kind: RecordKind, path: &str, value: &Value, today: NaiveDate, out: &mut Fields, errors: &mut Vec<FieldError>) {
    if let Some(spec) = spec(kind, path) {
        if value.is_null() {
            return;
        }
        match parse_json_value(spec, value, today) {
            Ok(v) => {
                out.0.insert(spec.path, v);
            }
            Err(rule) => errors.push(FieldError::new(path, rule)),
        }
        return;
    }
    let is_nested = kind.fields().iter().any(|f| f.path.strip_prefix(path).is_some_and(|rest| rest.starts_with('.')));
    if is_nested {
        match value {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(kind, &format!("{path}.{k}"), v, today, out, errors);
                }
            }
            Value::Null => {}
            _ => errors.push(FieldError::new(path, Rule::ExpectedObject)),
        }
        return;
    }
    errors.push(FieldError::new(path, Rule::UnknownField));
}

/// Check and normalise one JSON value for a field.
pub fn parse_json_value(spec: &FieldSpec, value: &Value, today: NaiveDate) -> Result<FieldValue, Rule> {
    match spec.kind {
        Kind::Text { rule, max } => {
            let s = match (rule, value) {
                (_, Value::String(s)) => s.clone(),
                (TextRule::Pincode | TextRule::Phone, Value::Number(n)) => n.to_string(),
                _ => return Err(Rule::ExpectedText),
            };
            check_text(rule, max, &s).map(FieldValue::Text)
        }
        Kind::Enum(allowed) => match value {
            Value::String(s) => check_enum(allowed, s).map(FieldValue::Text),
            _ => Err(Rule::OneOf(allowed.iter().map(|s| s.to_string()).collect())),
        },
        Kind::Date => match value {
            Value::String(s) => check_date(s, today).map(FieldValue::Text),
            _ => Err(Rule::DateFormat),
        },
        Kind::Year => match value.as_i64() {
            Some(y) => check_year(y, today).map(FieldValue::Int),
            None => Err(Rule::YearRange(today.year())),
        },
        Kind::Ward => match value.as_i64() {
            Some(w) if (1..=250).contains(&w) => Ok(FieldValue::Int(w)),
            _ => Err(Rule::Ward),
        },
        Kind::Bool => value.as_bool().map(FieldValue::Bool).ok_or(Rule::ExpectedBool),
        Kind::Set { rule, max_items } => {
            let Value::Array(items) = value else { return Err(Rule::ExpectedList) };
            let mut texts = Vec::with_capacity(items.len());
            for item in items {
                texts.push(item.as_str().ok_or(Rule::ExpectedList)?.to_string());
            }
            check_set(rule, max_items, texts.iter().map(String::as_str))
        }
    }
}

/// Check and normalise a value typed as text (`--set path=value`).
/// An empty text clears the field (`Ok(None)`).
pub fn parse_text_value(spec: &FieldSpec, raw: &str, today: NaiveDate) -> Result<Option<FieldValue>, Rule> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    let value = match spec.kind {
        Kind::Year | Kind::Ward => match raw.trim().parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) if spec.kind == Kind::Ward => return Err(Rule::Ward),
            Err(_) => return Err(Rule::YearRange(today.year())),
        },
        Kind::Bool => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "हाँ" | "हां" => Value::Bool(true),
            "false" | "no" | "0" | "नहीं" => Value::Bool(false),
            _ => return Err(Rule::ExpectedBool),
        },
        Kind::Set { .. } => {
            if raw.trim_start().starts_with('[') {
                serde_json::from_str(raw).map_err(|_| Rule::ExpectedList)?
            } else {
                Value::Array(raw.split(',').filter(|s| !s.trim().is_empty()).map(|s| Value::String(s.into())).collect())
            }
        }
        _ => Value::String(raw.to_string()),
    };
    parse_json_value(spec, &value, today).map(Some)
}

pub(crate) fn check_text(rule: TextRule, max: usize, raw: &str) -> Result<String, Rule> {
    if raw.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Rule::ControlChars);
    }
    let s = squash(raw);
    if s.is_empty() {
        return Err(Rule::Empty);
    }
    match rule {
        TextRule::Plain => {}
        TextRule::Devanagari => {
            let ok = s.chars().all(|c| {
                ('\u{0900}'..='\u{097F}').contains(&c)
                    || ('\u{A8E0}'..='\u{A8FF}').contains(&c)
                    || matches!(c, ' ' | '.' | '-' | '\'' | '\u{200C}' | '\u{200D}')
            });
            let has_letter = s.chars().any(|c| ('\u{0904}'..='\u{0939}').contains(&c));
            if !ok || !has_letter {
                return Err(Rule::Devanagari);
            }
        }
        TextRule::Phone => {
            let digits = normalise_phone(&s).ok_or(Rule::Phone)?;
            return Ok(digits);
        }
        TextRule::VoterId => {
            let v: String = s.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_uppercase();
            let b = v.as_bytes();
            let ok =
                b.len() == 10 && b[..3].iter().all(u8::is_ascii_uppercase) && b[3..].iter().all(u8::is_ascii_digit);
            return if ok { Ok(v) } else { Err(Rule::VoterId) };
        }
        TextRule::Pincode => {
            let ok = s.len() == 6
                && s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<u32>().is_ok_and(|n| (110_001..=110_099).contains(&n));
            return if ok { Ok(s) } else { Err(Rule::Pincode) };
        }
        TextRule::Id => {
            return s.parse::<RecordId>().map(|id| id.to_string()).map_err(|e| Rule::RecordId(e.to_string()));
        }
    }
    if s.chars().count() > max {
        return Err(Rule::TooLong(max));
    }
    Ok(s)
}

/// `98765 43210`, `+91-9876543210` and `09876543210` all become `9876543210`.
pub fn normalise_phone(s: &str) -> Option<String> {
    let mut digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
    if let Some(rest) = digits.strip_prefix("+91") {
        digits = rest.to_string();
    } else if digits.len() == 11 && digits.starts_with('0') {
        digits.remove(0);
    }
    let b = digits.as_bytes();
    let ok = b.len() == 10 && b.iter().all(u8::is_ascii_digit) && (b'6'..=b'9').contains(&b[0]);
    ok.then_some(digits)
}

fn check_enum(allowed: &[&str], s: &str) -> Result<String, Rule> {
    let t = s.trim();
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(t))
        .map(|a| a.to_string())
        .ok_or_else(|| Rule::OneOf(allowed.iter().map(|s| s.to_string()).collect()))
}

fn check_date(s: &str, today: NaiveDate) -> Result<String, Rule> {
    let t = s.trim();
    if t.len() != 10 {
        return Err(Rule::DateFormat);
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| Rule::DateFormat)?;
    if d > today {
        return Err(Rule::DateFuture);
    }
    if d.year() < 1900 {
        return Err(Rule::DateTooOld);
    }
    Ok(d.format("%Y-%m-%d").to_string())
}

fn check_year(y: i64, today: NaiveDate) -> Result<i64, Rule> {
    if (1900..=i64::from(today.year())).contains(&y) { Ok(y) } else { Err(Rule::YearRange(today.year())) }
}

pub(crate) fn check_set<'a>(
    rule: TextRule,
    max_items: usize,
    items: impl Iterator<Item = &'a str>,
) -> Result<FieldValue, Rule> {
    let mut out = BTreeMap::new();
    for item in items {
        let text = check_text(rule, 100, item)?;
        out.entry(set_key(&text)).or_insert(text);
    }
    if out.len() > max_items {
        return Err(Rule::TooManyItems(max_items));
    }
    Ok(FieldValue::Set(out))
}

/// Rules that involve more than one field, and required fields.
pub fn validate(kind: RecordKind, fields: &Fields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for spec in kind.fields() {
        if spec.required && fields.get(spec.path).is_none() {
            errors.push(FieldError::new(spec.path, Rule::Required));
        }
    }
    if kind == RecordKind::Resident {
        let dob = fields.text("date_of_birth");
        let year = fields.int("birth_year");
        match (dob, year) {
            (None, None) => errors.push(FieldError::new("date_of_birth", Rule::DobOrYear)),
            (Some(d), Some(y)) if !d.starts_with(&format!("{y:04}-")) => {
                errors.push(FieldError::new("birth_year", Rule::YearDisagrees))
            }
            _ => {}
        }
        if fields.get("pregnant").and_then(FieldValue::as_bool) == Some(true) && fields.text("sex") == Some("male") {
            errors.push(FieldError::new("pregnant", Rule::PregnantSex));
        }
        if fields.text("emergency_contact.phone").is_some() && fields.text("emergency_contact.name").is_none() {
            errors.push(FieldError::new("emergency_contact.name", Rule::Required));
        }
    }
    errors
}

/// Field-level checks of a record read from a document: every value, and
/// every conflicting value, must be one that a valid edit could have made.
/// (Rules across fields are not checked: two valid concurrent edits can
/// disagree across fields, and a reviewer settles that.)
pub fn check_fields(record: &Record, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let kind = record.meta.kind;
    for (path, value) in &record.fields.0 {
        if let Some(spec) = spec(kind, path)
            && let Err(rule) = parse_json_value(spec, &value.to_json(), today)
        {
            errors.push(FieldError::new(*path, rule));
        }
    }
    for c in &record.conflicts {
        if let Some(spec) = spec(kind, &c.field) {
            for v in &c.values {
                if let Err(rule) = parse_json_value(spec, v, today) {
                    errors.push(FieldError::new(c.field.clone(), rule));
                }
            }
        }
    }
    errors
}

/// A resident's year of birth, from either field.
pub fn birth_year(fields: &Fields) -> Option<i64> {
    fields.int("birth_year").or_else(|| fields.text("date_of_birth").and_then(|d| d.get(..4)?.parse().ok()))
}

/// The kind of the resident or household field at `path`, if any.
pub fn spec_kind(path: &str) -> Option<Kind> {
    spec(RecordKind::Resident, path).or_else(|| spec(RecordKind::Household, path)).map(|s| s.kind)
}
