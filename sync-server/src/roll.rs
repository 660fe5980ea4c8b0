//! The electoral-roll import (`ehcard-server import-roll FILE.csv`): an
//! electoral-roll or population-registry extract, one row a person
//! (`schema/roll-csv.md`), becomes unverified residents grouped into
//! households by ward and house, which tablets of the ward pull like any
//! other record.
//!
//! Two halves, both free of I/O:
//! - [`parse`] reads the CSV and checks every row through the record model
//!   (the same field rules as a tablet's records), reporting each bad row
//!   with its line, column, value and what is wrong;
//! - [`plan`] turns checked rows, and what the registry already knows of
//!   them ([`Known`]), into documents, projections and feed entries to write.
//!   A store (`store::sqlite`, `store::postgres`) loads [`Known`] and writes
//!   the [`Plan`] in one transaction.
//!
//! Identity is the EPIC number. Re-importing a row with the same values
//! changes nothing; a changed row updates its record only while the record
//! is still `unverified` (once a field worker has set another status, the
//! worker's values stand).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use automerge::ActorId;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use ehcard_core::doc::{ChangeEncoder, Edit, Origin, RecordDoc};
use ehcard_core::merge::heads_to_hex;
use ehcard_core::model::{self, FieldValue, Fields, RecordKind, squash};
use ehcard_core::validate::{FieldError, Rule};
use ehcard_core::{EditContext, Entropy, HealthId, Lang, RecordId};
use serde::Serialize;

use crate::store::{DocumentWrite, Projection, StoreError, Write};

/// `enrolled_by` of every roll resident and household, and the worker named
/// in their changes.
pub const ENROLLED_BY: &str = "electoral-roll";
/// `device_id` of the roll's feed entries (no tablet has this id, so every
/// tablet of the ward pulls them).
pub const FEED_DEVICE: &str = "registry";
/// How many bad rows are listed before the rest are only counted.
pub const DEFAULT_MAX_ERRORS: usize = 100;
/// A household document holds at most this many members (`members` set).
const MAX_MEMBERS: usize = 100;

/// The roll import's own actor: distinct from `store::server_actor()`, so a
/// record's history shows which changes the roll made.
pub fn roll_actor() -> ActorId {
    ActorId::from(b"ehcard-roll-imprt".as_slice())
}

/// The columns of a roll file (`schema/roll-csv.md`).
pub const COLUMNS: &[&str] = &[
    "epic",
    "name_en",
    "name_hi",
    "relation_type",
    "relation_name_en",
    "relation_name_hi",
    "age",
    "date_of_birth",
    "sex",
    "house_no",
    "section",
    "ward",
    "part_no",
    "serial_no",
];
/// Columns the header must have (a name and an age column are required as
/// "one of": `name_en`/`name_hi`, `age`/`date_of_birth`).
const REQUIRED_COLUMNS: &[&str] = &["epic", "sex", "house_no", "ward"];

/// Resident fields the roll sets; a changed row rewrites exactly these.
const ROLL_PATHS: &[&str] = &[
    "given_name",
    "family_name",
    "name_hi",
    "sex",
    "date_of_birth",
    "birth_year",
    "voter_id",
    "address.house",
    "address.street",
    "address.ward",
    "relation_type",
    "relative_name",
    "roll_part",
    "roll_serial",
];

/// Why a file could not be read at all (bad rows are [`RowError`]s).
#[derive(Debug, thiserror::Error)]
pub enum RollError {
    #[error("the file is empty: a roll file starts with a header line ({})", COLUMNS.join(","))]
    Empty,
    #[error("the header has no column {0:?} (columns: {cols})", cols = COLUMNS.join(","))]
    MissingColumn(String),
    #[error("the header needs one of the columns {0}")]
    MissingOneOf(String),
    #[error("the header names column {0:?} twice")]
    DuplicateColumn(String),
    #[error("reading the CSV: {0}")]
    Csv(String),
}

/// One problem with one row: its line in the file, the column, the value
/// found and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column {}: {:?}: {}", self.line, self.column, self.value, self.message)
    }
}

/// A checked row, ready to import.
#[derive(Debug, Clone, PartialEq)]
pub struct RollRow {
    pub line: u64,
    pub epic: String,
    /// The resident's fields (with `status = unverified`, without
    /// `household_id`), normalised and valid.
    pub fields: Fields,
    /// `ward|section|house`, normalised: rows with the same key are one
    /// household.
    pub household_key: String,
    /// Hash of the normalised values: the same hash means nothing changed.
    pub hash: String,
}

#[derive(Debug, Clone, Copy)]
pub struct ParseOptions {
    /// The extract's date: `age` counts years up to it.
    pub as_of: NaiveDate,
    /// Today, for the date rules (no birth in the future).
    pub today: NaiveDate,
    /// List at most this many bad rows (the rest are counted).
    pub max_errors: usize,
}

/// A file read: the good rows, and the bad rows' errors.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<RollRow>,
    /// The first `max_errors` errors, in file order.
    pub errors: Vec<RowError>,
    /// How many rows had errors (all of them, listed or not).
    pub bad_rows: usize,
    /// Header columns that are not roll columns (ignored).
    pub ignored_columns: Vec<String>,
}

/// Column positions in this file's header.
struct Cols(HashMap<&'static str, usize>);

impl Cols {
    fn get<'a>(&self, rec: &'a csv::StringRecord, name: &str) -> &'a str {
        self.0.get(name).and_then(|i| rec.get(*i)).map(str::trim).unwrap_or("")
    }
}

/// Read and check a roll file (UTF-8, with or without a byte-order mark).
/// `progress` is told how many rows have been checked.
pub fn parse(data: &[u8], options: &ParseOptions, progress: &(dyn Fn(u64) + Sync)) -> Result<Parsed, RollError> {
    let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
    let mut reader = csv::ReaderBuilder::new().flexible(true).has_headers(false).from_reader(data);
    let mut records = reader.byte_records();
    let header = match records.next() {
        Some(h) => h.map_err(|e| RollError::Csv(e.to_string()))?,
        None => return Err(RollError::Empty),
    };
    let mut cols = HashMap::new();
    let mut ignored = Vec::new();
    for (i, raw) in header.iter().enumerate() {
        let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(c) => {
                if cols.insert(*c, i).is_some() {
                    return Err(RollError::DuplicateColumn(name));
                }
            }
            None if name.is_empty() => {}
            None => ignored.push(name),
        }
    }
    for c in REQUIRED_COLUMNS {
        if !cols.contains_key(c) {
            return Err(RollError::MissingColumn(c.to_string()));
        }
    }
    for pair in [["name_en", "name_hi"], ["age", "date_of_birth"]] {
        if !pair.iter().any(|c| cols.contains_key(c)) {
            return Err(RollError::MissingOneOf(pair.join(" or ")));
        }
    }
    let width = header.len();
    let cols = Cols(cols);

    // Split into rows first (cheap), then check rows on every core.
    let mut raw_rows: Vec<(u64, Result<csv::StringRecord, RowError>)> = Vec::new();
    for rec in records {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                let err = RowError { line, column: "(row)".into(), value: String::new(), message: e.to_string() };
                raw_rows.push((line, Err(err)));
                continue;
            }
        };
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        raw_rows.push((line, cells(rec, &header, width, line)));
    }
    let done = AtomicU64::new(0);
    let checked = ehcard_core::par::map(&raw_rows, |(line, cells)| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_multiple_of(4096) {
            progress(n);
        }
        match cells {
            Ok(cells) => check_row(*line, cells, &cols, options),
            Err(e) => Err(vec![e.clone()]),
        }
    });
    progress(raw_rows.len() as u64);
    // The rows' cells are in their fields now.
    drop(raw_rows);

    let mut out = Parsed { ignored_columns: ignored, ..Parsed::default() };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    let add_errors = |out: &mut Parsed, errs: Vec<RowError>| {
        out.bad_rows += 1;
        for e in errs {
            if out.errors.len() < options.max_errors {
                out.errors.push(e);
            }
        }
    };
    for result in checked {
        match result {
            Ok(row) => match first_line.get(&row.epic) {
                Some(first) => {
                    let e = RowError {
                        line: row.line,
                        column: "epic".into(),
                        value: row.epic.clone(),
                        message: format!("the same EPIC number is already on line {first}"),
                    };
                    add_errors(&mut out, vec![e]);
                }
                None => {
                    first_line.insert(row.epic.clone(), row.line);
                    out.rows.push(row);
                }
            },
            Err(errs) => add_errors(&mut out, errs),
        }
    }
    // Households are checked once every row is known (they span rows).
    let mut sizes: HashMap<&str, (usize, u64)> = HashMap::new();
    let mut too_big = Vec::new();
    for row in &out.rows {
        let e = sizes.entry(row.household_key.as_str()).or_insert((0, row.line));
        e.0 += 1;
        if e.0 == MAX_MEMBERS + 1 {
            too_big.push(RowError {
                line: row.line,
                column: "house_no".into(),
                value: row.fields.text("address.house").unwrap_or("").to_string(),
                message: format!(
                    "more than {MAX_MEMBERS} people in one house of one section (the first is on line {}); a \
                     household holds at most {MAX_MEMBERS}: give flats or blocks their own house numbers",
                    e.1
                ),
            });
        }
    }
    for e in too_big {
        add_errors(&mut out, vec![e]);
    }
    out.errors.sort_by_key(|e| e.line);
    Ok(out)
}

/// A record's cells as text (one buffer for the row); a row with a
/// different number of cells than the header, or a cell that is not UTF-8,
/// is an error.
fn cells(
    rec: csv::ByteRecord,
    header: &csv::ByteRecord,
    width: usize,
    line: u64,
) -> Result<csv::StringRecord, RowError> {
    if rec.len() != width {
        return Err(RowError {
            line,
            column: "(row)".into(),
            value: String::from_utf8_lossy(&rec.iter().collect::<Vec<_>>().join(&b","[..])).into_owned(),
            message: format!("has {} columns, the header has {width} (a cut or unquoted line?)", rec.len()),
        });
    }
    csv::StringRecord::from_byte_record(rec).map_err(|e| {
        let field = e.utf8_error().field();
        let rec = e.into_byte_record();
        RowError {
            line,
            column: String::from_utf8_lossy(header.get(field).unwrap_or_default()).trim().to_string(),
            value: String::from_utf8_lossy(rec.get(field).unwrap_or_default()).into_owned(),
            message: "is not UTF-8 text (save the file as UTF-8)".into(),
        }
    })
}

/// `M`/`F`/`T` and words, to the model's values.
fn sex_value(raw: &str) -> Option<&'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "m" | "male" | "पुरुष" => Some("male"),
        "f" | "female" | "महिला" | "स्त्री" => Some("female"),
        "t" | "tg" | "o" | "other" | "third gender" | "transgender" | "अन्य" => Some("other"),
        _ => None,
    }
}

/// `F`/`H`/`M`/`W`/`O` and words, to the model's values.
fn relation_value(raw: &str) -> Option<&'static str> {
    match raw.to_ascii_lowercase().as_str() {
        "f" | "father" => Some("father"),
        "h" | "husband" => Some("husband"),
        "m" | "mother" => Some("mother"),
        "w" | "wife" => Some("wife"),
        "o" | "other" => Some("other"),
        _ => None,
    }
}

/// Where a field's value came from, for messages.
fn column_of(path: &str, has_en_name: bool) -> &'static str {
    match path {
        "given_name" | "family_name" if has_en_name => "name_en",
        "given_name" | "family_name" | "name_hi" => "name_hi",
        "sex" => "sex",
        "date_of_birth" => "date_of_birth",
        "birth_year" => "age",
        "voter_id" => "epic",
        "address.house" => "house_no",
        "address.street" => "section",
        "address.ward" => "ward",
        "relation_type" => "relation_type",
        "relative_name" => "relation_name_en",
        "roll_part" => "part_no",
        "roll_serial" => "serial_no",
        _ => "(row)",
    }
}

/// Check one row through the model's field rules.
fn check_row(
    line: u64,
    rec: &csv::StringRecord,
    cols: &Cols,
    options: &ParseOptions,
) -> Result<RollRow, Vec<RowError>> {
    let mut fields = Fields::default();
    let mut errors: Vec<RowError> = Vec::new();
    let today = options.today;
    let put = |fields: &mut Fields, errors: &mut Vec<RowError>, path: &str, column: &str, raw: &str, shown: &str| {
        let Some(spec) = model::spec(RecordKind::Resident, path) else { return };
        match model::parse_text_value(spec, raw, today) {
            Ok(Some(v)) => {
                fields.0.insert(spec.path, v);
            }
            Ok(None) => {}
            Err(rule) => errors.push(RowError {
                line,
                column: column.into(),
                value: shown.into(),
                message: rule.message(Lang::En),
            }),
        }
    };
    let get = |name: &str| cols.get(rec, name);
    let err = |column: &str, value: &str, message: String| RowError {
        line,
        column: column.into(),
        value: value.into(),
        message,
    };

    let epic = get("epic");
    if epic.is_empty() {
        errors.push(err("epic", epic, "is required (the EPIC number: 3 letters and 7 digits)".into()));
    } else {
        put(&mut fields, &mut errors, "voter_id", "epic", epic, epic);
    }

    let (name_en, name_hi) = (squash(get("name_en")), get("name_hi"));
    if name_en.is_empty() && name_hi.is_empty() {
        errors.push(err("name_en", "", "a name is required (name_en or name_hi)".into()));
    }
    if !name_en.is_empty() {
        // "Ram Kumar Sharma": given "Ram Kumar", family "Sharma".
        match name_en.rsplit_once(' ') {
            Some((given, family)) => {
                put(&mut fields, &mut errors, "given_name", "name_en", given, &name_en);
                put(&mut fields, &mut errors, "family_name", "name_en", family, &name_en);
            }
            None => put(&mut fields, &mut errors, "given_name", "name_en", &name_en, &name_en),
        }
    }
    if !name_hi.is_empty() {
        put(&mut fields, &mut errors, "name_hi", "name_hi", name_hi, name_hi);
        if name_en.is_empty() {
            put(&mut fields, &mut errors, "given_name", "name_hi", name_hi, name_hi);
        }
    }

    let relation = get("relation_type");
    if !relation.is_empty() {
        match relation_value(relation) {
            Some(v) => put(&mut fields, &mut errors, "relation_type", "relation_type", v, relation),
            None => errors.push(err(
                "relation_type",
                relation,
                "must be F, H, M, W or O (father, husband, mother, wife, other)".into(),
            )),
        }
    }
    let (rel_en, rel_hi) = (get("relation_name_en"), get("relation_name_hi"));
    if !rel_en.is_empty() {
        put(&mut fields, &mut errors, "relative_name", "relation_name_en", rel_en, rel_en);
    } else if !rel_hi.is_empty() {
        put(&mut fields, &mut errors, "relative_name", "relation_name_hi", rel_hi, rel_hi);
    }

    let (age, dob) = (get("age"), get("date_of_birth"));
    if !dob.is_empty() {
        // A date of birth is exact; the roll's age is only as of the extract.
        put(&mut fields, &mut errors, "date_of_birth", "date_of_birth", dob, dob);
    } else if !age.is_empty() {
        match age.parse::<u16>() {
            Ok(years) if years <= 150 => {
                let year = i64::from(options.as_of.year()) - i64::from(years);
                if (1900..=i64::from(today.year())).contains(&year) {
                    fields.0.insert("birth_year", FieldValue::Int(year));
                } else {
                    errors.push(err(
                        "age",
                        age,
                        format!("gives a year of birth {year}, outside 1900-{} (check --as-of)", today.year()),
                    ));
                }
            }
            _ => errors.push(err("age", age, "must be a whole number of years (0-150)".into())),
        }
    } else {
        errors.push(err("age", "", "an age or a date of birth is required".into()));
    }

    let sex = get("sex");
    match sex_value(sex) {
        Some(v) => put(&mut fields, &mut errors, "sex", "sex", v, sex),
        None if sex.is_empty() => errors.push(err("sex", sex, "is required (M, F or T)".into())),
        None => errors.push(err("sex", sex, "must be M, F or T (male, female, other)".into())),
    }

    let house = get("house_no");
    if house.is_empty() {
        errors.push(err("house_no", house, "is required (rows are grouped into households by house)".into()));
    } else {
        put(&mut fields, &mut errors, "address.house", "house_no", house, house);
    }
    let section = get("section");
    put(&mut fields, &mut errors, "address.street", "section", section, section);
    let ward = get("ward");
    if ward.is_empty() {
        errors.push(err("ward", ward, "is required (1-250)".into()));
    } else {
        put(&mut fields, &mut errors, "address.ward", "ward", ward, ward);
    }
    let part = get("part_no");
    put(&mut fields, &mut errors, "roll_part", "part_no", part, part);
    let serial = get("serial_no");
    put(&mut fields, &mut errors, "roll_serial", "serial_no", serial, serial);
    fields.0.insert("status", FieldValue::Text("unverified".into()));

    // The record as a whole, by the same rules as a tablet's record.
    let has_en = !name_en.is_empty();
    for FieldError { field, rule } in model::validate(RecordKind::Resident, &fields) {
        let column = column_of(&field, has_en);
        if errors.iter().any(|e| e.column == column) || matches!(rule, Rule::DobOrYear) {
            continue; // already reported, more precisely
        }
        errors.push(err(column, get(column), rule.message(Lang::En)));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| COLUMNS.iter().position(|c| *c == e.column).unwrap_or(0));
        return Err(errors);
    }
    let epic = fields.text("voter_id").unwrap_or_default().to_string();
    let household_key = household_key(
        fields.int("address.ward").unwrap_or(0),
        fields.text("address.street").unwrap_or(""),
        fields.text("address.house").unwrap_or(""),
    );
    let hash = row_hash(&epic, &fields, &household_key);
    Ok(RollRow { line, epic, fields, household_key, hash })
}

/// `ward|section|house`: the section folded like a set item (case and
/// spacing), the house number without spaces (`12 A` and `12a` are one).
pub fn household_key(ward: i64, section: &str, house: &str) -> String {
    let house: String = house.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_lowercase();
    format!("{ward}|{}|{house}", model::set_key(section))
}

fn row_hash(epic: &str, fields: &Fields, key: &str) -> String {
    // The EPIC, each field as `\x1f path = JSON value`, then `\x1f key`,
    // hashed at once. These bytes are what every import has hashed: the
    // hashes stored by earlier imports must come out the same.
    let mut bytes = Vec::with_capacity(512);
    bytes.extend_from_slice(epic.as_bytes());
    for (path, value) in &fields.0 {
        bytes.push(0x1f);
        bytes.extend_from_slice(path.as_bytes());
        bytes.push(b'=');
        let written = match value {
            FieldValue::Text(text) => serde_json::to_writer(&mut bytes, text),
            FieldValue::Int(n) => serde_json::to_writer(&mut bytes, n),
            other => serde_json::to_writer(&mut bytes, &other.to_json()),
        };
        // Writing into memory does not fail.
        debug_assert!(written.is_ok());
    }
    bytes.push(0x1f);
    bytes.extend_from_slice(key.as_bytes());
    hex::encode(&ring::digest::digest(&ring::digest::SHA256, &bytes).as_ref()[..16])
}

/// What the registry has of a roll row.
#[derive(Debug, Clone)]
pub struct KnownEntry {
    pub record_id: String,
    pub household_key: String,
    pub row_hash: String,
}

/// What the registry knows of a file's rows, loaded by the store inside the
/// import's transaction.
#[derive(Debug, Default)]
pub struct Known {
    /// By EPIC number, for the file's rows.
    pub entries: HashMap<String, KnownEntry>,
    /// Household ids by key, for [`household_keys`].
    pub households: HashMap<String, String>,
    /// The next roll resident's number (`HealthId::registry`).
    pub next_seq: u64,
    /// Roll entries in the registry, in the file or not.
    pub total_entries: u64,
}

/// Household keys a store must look up: each row's, and the old key of each
/// row already imported (a row that moved leaves its old household).
pub fn household_keys(rows: &[RollRow], entries: &HashMap<String, KnownEntry>) -> Vec<String> {
    let mut keys: Vec<String> = rows.iter().map(|r| r.household_key.clone()).collect();
    keys.extend(entries.values().map(|e| e.household_key.clone()));
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Documents a store must load: records of changed rows and the existing
/// households whose members change.
pub fn docs_needed(rows: &[RollRow], known: &Known) -> Vec<String> {
    let mut ids = Vec::new();
    for row in rows {
        match known.entries.get(&row.epic) {
            None => ids.extend(known.households.get(&row.household_key).cloned()),
            Some(e) if e.row_hash == row.hash => {}
            Some(e) => {
                ids.push(e.record_id.clone());
                if e.household_key != row.household_key {
                    ids.extend(known.households.get(&row.household_key).cloned());
                    ids.extend(known.households.get(&e.household_key).cloned());
                }
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Tables whose secondary indexes a large import drops and builds again:
/// everything a new roll record writes a row into. Primary keys and unique
/// constraints stay (they check the import as it writes).
pub const BULK_TABLES: [&str; 5] = ["docs", "feed", "residents", "households", "match_queue"];

/// Partial indexes of [`BULK_TABLES`] that a roll's rows do not enter (field
/// enrolments, merged records, records ready for a card, phone numbers,
/// tablets' feed entries): an import keeps them rather than scanning a
/// whole table to build them again, and the few rows it edits that do
/// enter are inserted as usual.
pub const UNTOUCHED_INDEXES: [&str; 5] =
    ["residents_field_id", "records_merged_into", "residents_card_ready", "records_phone", "feed_tablets_received"];

/// What an import does with the secondary indexes of [`BULK_TABLES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Indexes {
    /// Rebuild them when the import is large against the registry.
    #[default]
    Auto,
    /// Drop them, write, and build them again before committing.
    Rebuild,
    /// Keep them and insert into them row by row: other sessions keep
    /// reading these tables while the import runs (PostgreSQL).
    Keep,
}

/// Whether an import that writes `new` documents into a registry holding
/// `existing` drops the secondary indexes of [`BULK_TABLES`] and builds
/// them again at the end, in the same transaction: building an index sorts
/// its keys once, where inserting walks a B-tree per row per index, in an
/// order that is random for names. Worth it when the import is large
/// against what is there (a first extract, a new ward); a monthly update
/// of a few thousand rows inserts as usual. On PostgreSQL other sessions
/// then wait to read those tables until the import commits.
pub fn rebuild_indexes(mode: Indexes, new: u64, existing: u64) -> bool {
    match mode {
        Indexes::Auto => new >= 20_000 && new.saturating_mul(2) >= existing,
        Indexes::Rebuild => true,
        Indexes::Keep => false,
    }
}

/// Progress of the import's stages: (stage, done, total).
pub type ProgressFn = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

/// What a store tells [`ProgressFn`] while it writes an import: documents
/// handed over in the current stage (out of the import's), and index
/// builds started across every group of them. Shared by the writer's
/// callbacks, so it counts through `&self`.
pub struct Stages<'p> {
    progress: Option<&'p ProgressFn>,
    total: u64,
    written: std::cell::Cell<u64>,
    indexes: u64,
    built: std::cell::Cell<u64>,
}

impl<'p> Stages<'p> {
    /// `total` documents to write, `indexes` to build again.
    pub fn new(progress: Option<&'p ProgressFn>, total: u64, indexes: usize) -> Self {
        Stages {
            progress,
            total,
            written: std::cell::Cell::new(0),
            indexes: indexes as u64,
            built: std::cell::Cell::new(0),
        }
    }

    /// `n` more written in `stage`.
    pub fn written(&self, stage: &str, n: usize) {
        self.written.set(self.written.get() + n as u64);
        if let Some(progress) = self.progress {
            progress(stage, self.written.get(), self.total);
        }
    }

    /// A pass over every document begins again from none written.
    pub fn next_pass(&self) {
        self.written.set(0);
    }

    /// One more index is being built.
    pub fn indexing(&self) {
        if let Some(progress) = self.progress {
            progress("indexing", self.built.get(), self.indexes);
        }
        self.built.set(self.built.get() + 1);
    }
}

/// The moment, the randomness for new record ids, progress, and what to
/// do with the indexes.
pub struct ImportOptions {
    pub now: DateTime<Utc>,
    pub entropy: Box<dyn Entropy + Send>,
    pub progress: Option<ProgressFn>,
    pub indexes: Indexes,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Rows in the file.
    pub rows: u64,
    /// New residents.
    pub added: u64,
    /// Residents whose changed row was applied (they were still unverified).
    pub updated: u64,
    /// Rows the registry already had with these values.
    pub unchanged: u64,
    /// Changed rows left alone because a field worker has confirmed the
    /// record (its status is no longer `unverified`).
    pub kept: u64,
    /// Roll entries in the registry that this file does not have (left alone).
    pub missing: u64,
    pub households_added: u64,
    /// Existing households whose members changed.
    pub households_updated: u64,
    /// Feed entries written (tablets of the wards pull them).
    pub feed_entries: u64,
}

/// A roll row to remember (a new or applied row).
#[derive(Debug, Clone)]
pub struct EntryWrite {
    pub epic: String,
    pub record_id: String,
    pub household_key: String,
    pub row_hash: String,
}

/// Everything an import writes: the roll's own tables at once, the
/// documents (with projections and feed entries) through [`Plan::build`].
#[derive(Debug)]
pub struct Plan<'a> {
    pub entries: Vec<EntryWrite>,
    /// New households: (key, household id).
    pub households: Vec<(String, String)>,
    pub next_seq: u64,
    pub summary: Summary,
    /// The documents to write, in feed order: new households, edited
    /// households, new residents, edited residents.
    jobs: Vec<Job>,
    rows: &'a [RollRow],
    now: DateTime<Utc>,
}

#[derive(Debug)]
enum Job {
    Household(NewHousehold),
    Resident {
        row: usize,
        id: RecordId,
        health_id: HealthId,
        household: String,
    },
    /// An existing document already edited (there are few: built at once).
    Ready(Box<Write>),
}

#[derive(Debug)]
struct NewHousehold {
    id: RecordId,
    key: String,
    /// The row whose address the household takes.
    first: usize,
    members: Vec<String>,
}

/// Documents built per chunk; the writer stores one chunk while the next
/// ones are built. The first chunk is [`FIRST_CHUNK`] documents, so the
/// writer starts soon; each next one is twice as large, up to this. Large
/// chunks mean fewer statements for the same rows: on PostgreSQL each
/// chunk is six statements, each ending in a wait for the server to catch
/// up (2,048 a chunk was measured 5–10% slower than 8,192).
pub const BUILD_CHUNK: usize = 8192;
/// The first chunk's size (see [`BUILD_CHUNK`]).
pub const FIRST_CHUNK: usize = 1024;

/// The single writer's part of [`Plan::build`]: store a chunk of writes.
pub type WritesFn<'f> = dyn FnMut(Vec<Write>) -> Result<(), StoreError> + 'f;
/// Store a chunk of query rows, (record id, projection) ([`Plan::build_in_passes`]).
pub type RowsFn<'f> = dyn FnMut(Vec<(String, Projection)>) -> Result<(), StoreError> + 'f;
/// What the writer does between the passes of [`Plan::build_in_passes`].
pub type BetweenFn<'f> = dyn FnMut() -> Result<(), StoreError> + 'f;
/// Store a chunk of documents ([`Plan::build_in_passes`]).
pub type DocumentsFn<'f> = dyn FnMut(Vec<DocumentWrite>) -> Result<(), StoreError> + 'f;

/// The sizes of the chunks `jobs` documents are built in: [`FIRST_CHUNK`],
/// then doubling up to [`BUILD_CHUNK`].
fn chunk_sizes(mut jobs: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut next = FIRST_CHUNK;
    while jobs > 0 {
        let n = next.min(jobs);
        sizes.push(n);
        jobs -= n;
        next = (next * 2).min(BUILD_CHUNK);
    }
    sizes
}

impl Plan<'_> {
    /// How many documents [`Plan::build`] hands over (one feed entry each).
    pub fn writes(&self) -> usize {
        self.jobs.len()
    }

    /// Whether the import edits documents the registry has (a newer
    /// extract's changed rows, households gaining or losing members):
    /// those are written over the stored ones by id.
    pub fn edits_existing(&self) -> bool {
        self.jobs.iter().any(|j| matches!(j, Job::Ready(_)))
    }

    /// Whether the import rewrites roll entries the registry has (by EPIC).
    pub fn updates_entries(&self, known: &Known) -> bool {
        self.entries.iter().any(|e| known.entries.contains_key(&e.epic))
    }

    /// Build the documents, in feed order, in chunks (see [`BUILD_CHUNK`]), and
    /// hand each chunk to `write`. One builder thread per core (made once
    /// for the whole import) builds every n-th chunk while `write` (the
    /// single database writer) runs on the calling thread, so storing one
    /// chunk overlaps building the next ones. A writing error stops the
    /// builders and is returned; the caller's transaction then writes
    /// nothing.
    pub fn build(self, write: &mut WritesFn) -> Result<(), StoreError> {
        self.run(None, |b, jobs, encoder| b.chunk(jobs, encoder), write)
    }

    /// [`Plan::build`] in two passes, for a writer that builds its indexes
    /// on one core (SQLite): first every record's query row (`rows`, in
    /// feed order), then `between` (the writer builds those rows' indexes),
    /// then the documents with their feed entries (`documents`, in feed
    /// order). The builder threads encode the documents, the larger part
    /// of their work, while the writer is in `between`, on the core it
    /// leaves idle; up to [`DOCUMENTS_AHEAD`] chunks wait for it.
    pub fn build_in_passes(
        self,
        rows: &mut RowsFn,
        between: &mut BetweenFn,
        documents: &mut DocumentsFn,
    ) -> Result<(), StoreError> {
        self.run(Some((rows, between)), |b, jobs, encoder| b.documents(jobs, encoder), documents)
    }

    /// Both builds: `make` turns a chunk of jobs into what `write` stores;
    /// with `first` (its rows, then `between`) before, in two passes.
    fn run<T: Send>(
        self,
        mut first: Option<(&mut RowsFn, &mut BetweenFn)>,
        make: impl Fn(&Builder<'_>, Vec<Job>, &mut ChangeEncoder) -> Vec<T> + Sync,
        write: &mut (dyn FnMut(Vec<T>) -> Result<(), StoreError> + '_),
    ) -> Result<(), StoreError> {
        let Plan { jobs, rows, now, .. } = self;
        let ctx = EditContext::new(now, ENROLLED_BY);
        let builder = Builder { rows, ctx, actor: roll_actor(), now };
        let threads = ehcard_core::par::threads();
        let mut shares: Vec<Vec<Vec<Job>>> = (0..threads).map(|_| Vec::new()).collect();
        let sizes = chunk_sizes(jobs.len());
        let chunks = sizes.len();
        let mut jobs = jobs.into_iter();
        for (k, n) in sizes.into_iter().enumerate() {
            shares[k % threads].push(jobs.by_ref().take(n).collect());
        }
        let passes = first.is_some();
        // Chunks of documents a builder may have waiting: one while it
        // builds the next, or its share of DOCUMENTS_AHEAD in two passes.
        let ahead = if passes { DOCUMENTS_AHEAD.div_ceil(threads) } else { 1 };
        let stopped = || StoreError::Database("building the roll's documents stopped unexpectedly".into());
        std::thread::scope(|scope| {
            let (builder, make) = (&builder, &make);
            let ready: Vec<_> = shares
                .into_iter()
                .map(|share| {
                    let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel::<Vec<(String, Projection)>>(1);
                    let (docs_tx, docs_rx) = std::sync::mpsc::sync_channel::<Vec<T>>(ahead);
                    scope.spawn(move || {
                        // A send fails when the writer has stopped (it
                        // failed): stop too.
                        if passes {
                            for chunk in &share {
                                if rows_tx.send(builder.rows(chunk)).is_err() {
                                    return;
                                }
                            }
                        }
                        drop(rows_tx);
                        let mut encoder = ChangeEncoder::new(&builder.actor, &builder.ctx);
                        for chunk in share {
                            if docs_tx.send(make(builder, chunk, &mut encoder)).is_err() {
                                return;
                            }
                        }
                    });
                    (rows_rx, docs_rx)
                })
                .collect();
            if let Some((rows, between)) = first.as_mut() {
                for k in 0..chunks {
                    rows(ready[k % threads].0.recv().map_err(|_| stopped())?)?;
                }
                between()?;
            }
            for k in 0..chunks {
                write(ready[k % threads].1.recv().map_err(|_| stopped())?)?;
            }
            Ok(())
        })
    }
}

/// Chunks of encoded documents that may wait while the writer builds its
/// indexes in [`Plan::build_in_passes`] (at most about 8 MB a chunk).
pub const DOCUMENTS_AHEAD: usize = 32;

/// What building a roll document needs.
struct Builder<'a> {
    rows: &'a [RollRow],
    ctx: EditContext,
    actor: ActorId,
    now: DateTime<Utc>,
}

impl Builder<'_> {
    /// A chunk's writes, in order: documents with their query rows.
    fn chunk(&self, jobs: Vec<Job>, encoder: &mut ChangeEncoder) -> Vec<Write> {
        jobs.into_iter()
            .map(|job| match self.new_record(job) {
                Ok((kind, origin, fields)) => {
                    let (id, doc, heads_json) = self.encode(kind, &origin, &fields, encoder);
                    let record = RecordDoc::created_record(kind, &origin, fields, &self.ctx);
                    let projection = Box::new(Projection::of(&record));
                    Write { id, doc, heads_json, new_changes: Vec::new(), projection, created: true, first: true }
                }
                Err(w) => *w,
            })
            .collect()
    }

    /// A chunk's documents, in order, without their query rows (written
    /// by [`Builder::rows`]).
    fn documents(&self, jobs: Vec<Job>, encoder: &mut ChangeEncoder) -> Vec<DocumentWrite> {
        jobs.into_iter()
            .map(|job| match self.new_record(job) {
                Ok((kind, origin, fields)) => {
                    let (id, doc, heads_json) = self.encode(kind, &origin, &fields, encoder);
                    let ward = fields.int("address.ward").unwrap_or(0);
                    DocumentWrite { id, kind, ward, doc, heads_json, new_changes: Vec::new(), created: true }
                }
                Err(w) => DocumentWrite::from(*w),
            })
            .collect()
    }

    /// A new record's kind, origin and fields; an edited one's write.
    fn new_record(&self, job: Job) -> Result<(RecordKind, Origin, Fields), Box<Write>> {
        match job {
            Job::Household(h) => Ok((RecordKind::Household, self.origin(h.id, None), self.household(&h))),
            Job::Resident { row, id, health_id, household } => {
                Ok((RecordKind::Resident, self.origin(id, Some(health_id)), self.resident(row, household)))
            }
            Job::Ready(w) => Err(w),
        }
    }

    /// A chunk's query rows, in order: the projection of each record as
    /// its document will read.
    fn rows(&self, jobs: &[Job]) -> Vec<(String, Projection)> {
        let projection = |kind, origin: Origin, fields| {
            let id = origin.id.to_string();
            (id, Projection::of(&RecordDoc::created_record(kind, &origin, fields, &self.ctx)))
        };
        jobs.iter()
            .map(|job| match job {
                Job::Household(h) => projection(RecordKind::Household, self.origin(h.id, None), self.household(h)),
                Job::Resident { row, id, health_id, household } => projection(
                    RecordKind::Resident,
                    self.origin(*id, Some(*health_id)),
                    self.resident(*row, household.clone()),
                ),
                Job::Ready(w) => (w.id.clone(), (*w.projection).clone()),
            })
            .collect()
    }

    fn origin(&self, id: RecordId, health_id: Option<HealthId>) -> Origin {
        Origin { id, health_id, enrolled_by: ENROLLED_BY.into(), enrolled_device: None, enrolled_at: self.now }
    }

    /// A new household's fields: the address of its first row, its members.
    fn household(&self, h: &NewHousehold) -> Fields {
        let address = &self.rows[h.first].fields;
        let mut fields = Fields::default();
        for path in ["address.house", "address.street", "address.ward"] {
            if let Some(v) = address.get(path) {
                fields.0.insert(path, v.clone());
            }
        }
        let members = h.members.iter().map(|m| (model::set_key(m), m.clone())).collect();
        fields.0.insert("members", FieldValue::Set(members));
        fields
    }

    /// A new resident's fields: its row's, in its household.
    fn resident(&self, row: usize, household: String) -> Fields {
        let mut fields = self.rows[row].fields.clone();
        fields.0.insert("household_id", FieldValue::Text(household));
        fields
    }

    /// A new record's id, document (its one change) and heads. The change
    /// is encoded without making the document (see ADR 5): its bytes load
    /// as the document. Its feed entry is written without bytes: a pull
    /// reads them from the document (`store::entry_changes`), so they are
    /// stored once.
    fn encode(
        &self,
        kind: RecordKind,
        origin: &Origin,
        fields: &Fields,
        encoder: &mut ChangeEncoder,
    ) -> (String, Vec<u8>, String) {
        let (bytes, hash) = encoder.create_change(kind, origin, fields);
        (origin.id.to_string(), bytes, serde_json::to_string(&heads_to_hex(&[hash])).unwrap_or_default())
    }
}

fn corrupt(id: &str, e: ehcard_core::DocError) -> StoreError {
    StoreError::Corrupt { id: id.to_string(), message: e.to_string() }
}

/// Turn checked rows, and what the registry knows of them, into what to
/// write: `docs` holds the documents [`docs_needed`] named. Changed records
/// and households are edited here; new documents are made by [`Plan::build`].
pub fn plan<'a>(
    rows: &'a [RollRow],
    known: &Known,
    docs: &HashMap<String, Vec<u8>>,
    options: &mut ImportOptions,
) -> Result<Plan<'a>, StoreError> {
    let ctx = EditContext::new(options.now, ENROLLED_BY);
    let actor = roll_actor();
    let now_ms = u64::try_from(options.now.timestamp_millis()).unwrap_or(0);
    let mut summary = Summary { rows: rows.len() as u64, ..Summary::default() };
    let load = |id: &str| -> Result<RecordDoc, StoreError> {
        let bytes = docs.get(id).ok_or_else(|| StoreError::Corrupt {
            id: id.to_string(),
            message: "the roll names this record but the registry has no document for it".into(),
        })?;
        RecordDoc::load(bytes, &actor).map_err(|e| corrupt(id, e))
    };

    // Which rows are new, unchanged or changed; read changed records' status.
    let mut new_rows = Vec::new();
    let mut changed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match known.entries.get(&row.epic) {
            None => new_rows.push(i),
            Some(e) if e.row_hash == row.hash => summary.unchanged += 1,
            Some(e) => changed.push((i, e)),
        }
    }
    summary.missing = known.total_entries.saturating_sub(summary.unchanged + changed.len() as u64);
    // New records are written ward by ward, in the file's order within a
    // ward (extracts come by part or by EPIC, which wards only roughly
    // follow). A ward's residents are then neighbours in the registry's
    // tables, which is how the console lists them and tablets pull them;
    // and the ward-first indexes, built again after a large import, find
    // their keys already in order (the dashboard's index builds in about
    // half the time).
    new_rows.sort_by_cached_key(|&i| rows[i].fields.int("address.ward"));
    let statuses = ehcard_core::par::map(&changed, |(_, e)| -> Result<(RecordDoc, Option<String>), StoreError> {
        let doc = load(&e.record_id)?;
        let record = doc.read().map_err(|err| corrupt(&e.record_id, err))?;
        let status = record.fields.text("status").map(str::to_string);
        Ok((doc, status))
    });

    // New ids are handed out in ascending order, in the order the documents
    // are written (new households, then new residents), so the registry's
    // id indexes grow at their right-hand end, where PostgreSQL appends
    // without searching the tree, rather than taking 100,000 inserts at
    // random places (they are UUIDv7s of this moment either way). Each list
    // is kept largest first: `pop` hands out the next.
    let new_keys = rows
        .iter()
        .map(|r| r.household_key.as_str())
        .filter(|k| !known.households.contains_key(*k))
        .collect::<std::collections::HashSet<&str>>()
        .len();
    let mut random = vec![0u8; (new_keys + new_rows.len()) * 10];
    options.entropy.fill(&mut random);
    let mut ids: Vec<RecordId> = random.as_chunks::<10>().0.iter().map(|r| RecordId::v7_from(now_ms, r)).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    // The smallest (the list's tail) for the households written first.
    let mut household_ids = ids.split_off(new_rows.len());
    let mut resident_ids = ids;

    // Households: existing ones gain or lose members; new keys get new ones.
    let mut new_households: Vec<NewHousehold> = Vec::new();
    let mut new_index: HashMap<&str, usize> = HashMap::new();
    let mut member_edits: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    let mut household_of = |row_index: usize, record_id: &str, entropy: &mut dyn Entropy| -> String {
        let mut next_id = || household_ids.pop().unwrap_or_else(|| RecordId::new_v7(now_ms, entropy));
        let key = rows[row_index].household_key.as_str();
        if let Some(id) = known.households.get(key) {
            member_edits.entry(id.clone()).or_default().push(Edit::Add("members", record_id.to_string()));
            return id.clone();
        }
        let k = *new_index.entry(key).or_insert_with(|| {
            new_households.push(NewHousehold {
                id: next_id(),
                key: key.to_string(),
                first: row_index,
                members: Vec::new(),
            });
            new_households.len() - 1
        });
        new_households[k].members.push(record_id.to_string());
        new_households[k].id.to_string()
    };

    // New residents: an id, the next eHealth ID, a household.
    let mut seq = known.next_seq;
    let mut residents = Vec::with_capacity(new_rows.len());
    for &i in &new_rows {
        let id = resident_ids.pop().unwrap_or_else(|| RecordId::new_v7(now_ms, options.entropy.as_mut()));
        let health_id = HealthId::registry(seq).map_err(|_| StoreError::RollIdsExhausted)?;
        seq += 1;
        let household = household_of(i, &id.to_string(), options.entropy.as_mut());
        residents.push(Job::Resident { row: i, id, health_id, household });
    }

    // Changed rows: applied while the record is unverified, else kept.
    let mut edits = Vec::new();
    let mut entries = Vec::new();
    let mut leaving: Vec<(String, Edit)> = Vec::new();
    for ((i, e), status) in changed.iter().zip(statuses) {
        let (doc, status) = status?;
        if status.as_deref() != Some("unverified") {
            summary.kept += 1;
            continue;
        }
        let row = &rows[*i];
        let mut list: Vec<Edit> = ROLL_PATHS
            .iter()
            .map(|p| match row.fields.get(p) {
                Some(v) => Edit::Set(p, v.clone()),
                None => Edit::Clear(p),
            })
            .collect();
        if e.household_key != row.household_key {
            let household = household_of(*i, &e.record_id, options.entropy.as_mut());
            list.push(Edit::Set("household_id", FieldValue::Text(household)));
            if let Some(old) = known.households.get(&e.household_key) {
                leaving.push((old.clone(), Edit::Remove("members", e.record_id.clone())));
            }
        }
        entries.push(EntryWrite {
            epic: row.epic.clone(),
            record_id: e.record_id.clone(),
            household_key: row.household_key.clone(),
            row_hash: row.hash.clone(),
        });
        edits.push((e.record_id.clone(), doc, list));
    }
    for (household, edit) in leaving {
        member_edits.entry(household).or_default().push(edit);
    }
    for job in &residents {
        if let Job::Resident { row, id, .. } = job {
            let row = &rows[*row];
            entries.push(EntryWrite {
                epic: row.epic.clone(),
                record_id: id.to_string(),
                household_key: row.household_key.clone(),
                row_hash: row.hash.clone(),
            });
        }
    }

    // Edits to existing documents: apply as the roll, feed only the new changes.
    let edit = |id: &str, mut doc: RecordDoc, list: &[Edit]| -> Result<Option<Write>, StoreError> {
        let before = doc.heads();
        let changed = doc.apply(list, &ctx).map_err(|e| corrupt(id, e))?;
        if !changed {
            return Ok(None);
        }
        let record = doc.read().map_err(|e| corrupt(id, e))?;
        Ok(Some(Write {
            id: id.to_string(),
            doc: doc.save(),
            heads_json: serde_json::to_string(&heads_to_hex(&doc.heads())).unwrap_or_default(),
            new_changes: doc.save_after(&before),
            projection: Box::new(Projection::of(&record)),
            created: false,
            first: true,
        }))
    };
    let household_docs: Vec<(String, RecordDoc, Vec<Edit>)> = member_edits
        .into_iter()
        .map(|(id, list)| Ok((id.clone(), load(&id)?, list)))
        .collect::<Result<_, StoreError>>()?;
    let mut household_writes = Vec::new();
    for w in ehcard_core::par::map(&household_docs, |(id, doc, list)| edit(id, doc.clone(), list)) {
        if let Some(w) = w? {
            summary.households_updated += 1;
            household_writes.push(Job::Ready(Box::new(w)));
        }
    }
    let mut resident_writes = Vec::new();
    for w in ehcard_core::par::map(&edits, |(id, doc, list)| edit(id, doc.clone(), list)) {
        match w? {
            Some(w) => {
                summary.updated += 1;
                resident_writes.push(Job::Ready(Box::new(w)));
            }
            // The record already reads as the row says (a worker typed it).
            None => summary.unchanged += 1,
        }
    }
    summary.households_added = new_households.len() as u64;
    summary.added = residents.len() as u64;
    // The roll's own rows go in by key order: their primary keys grow at
    // one end (a first extract) or are visited in one sweep.
    let mut households: Vec<(String, String)> =
        new_households.iter().map(|h| (h.key.clone(), h.id.to_string())).collect();
    households.sort_unstable();
    entries.sort_unstable_by(|a: &EntryWrite, b: &EntryWrite| a.epic.cmp(&b.epic));
    let mut jobs =
        Vec::with_capacity(new_households.len() + household_writes.len() + residents.len() + resident_writes.len());
    jobs.extend(new_households.into_iter().map(Job::Household));
    jobs.extend(household_writes);
    jobs.extend(residents);
    jobs.extend(resident_writes);
    summary.feed_entries = jobs.len() as u64;
    Ok(Plan { entries, households, next_seq: seq, summary, jobs, rows, now: options.now })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn options() -> ParseOptions {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        ParseOptions { as_of: d, today: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(), max_errors: 100 }
    }

    const HEADER: &str = "epic,name_en,name_hi,relation_type,relation_name_en,relation_name_hi,age,date_of_birth,sex,\
                          house_no,section,ward,part_no,serial_no\n";

    fn parse_str(body: &str) -> Parsed {
        parse(format!("{HEADER}{body}").as_bytes(), &options(), &|_| {}).unwrap()
    }

    /// Progress counts documents within a pass and index builds across
    /// every group of them.
    #[test]
    fn stages_count_each_pass_and_every_index() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let progress: ProgressFn = Arc::new(move |stage, done, total| {
            log.lock().unwrap().push(format!("{stage} {done}/{total}"));
        });
        let stages = Stages::new(Some(&progress), 10, 3);
        stages.written("writing", 4);
        stages.written("writing", 6);
        stages.next_pass();
        stages.indexing();
        stages.indexing();
        stages.written("documents", 10);
        stages.indexing();
        assert_eq!(
            *seen.lock().unwrap(),
            ["writing 4/10", "writing 10/10", "indexing 0/3", "indexing 1/3", "documents 10/10", "indexing 2/3"]
        );
        // Without a listener nothing is counted aloud, and nothing fails.
        Stages::new(None, 1, 1).indexing();
    }

    /// Options of a test import: a fixed moment and seeded ids.
    fn import_options() -> ImportOptions {
        ImportOptions {
            now: DateTime::from_timestamp(1_795_000_000, 0).unwrap(),
            entropy: Box::new(ehcard_core::SeededEntropy::new(1)),
            progress: None,
            indexes: Indexes::Auto,
        }
    }

    /// `rows` people, three to a house.
    fn three_to_a_house(rows: usize) -> Parsed {
        let body: String =
            (0..rows).map(|i| format!("ABC{:07},Ram Sharma,,,,,40,,M,{},S,12,1,1\n", i, i / 3)).collect();
        parse_str(&body)
    }

    #[test]
    fn a_row_maps_to_resident_fields() {
        let p = parse_str("abc1234567,Ram Kumar Sharma,राम कुमार शर्मा,F,Shyam Sharma,,40,,M,12 A,Gali 4,12,7,101\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let r = &p.rows[0];
        assert_eq!(r.epic, "ABC1234567");
        assert_eq!(r.line, 2);
        let f = &r.fields;
        assert_eq!(f.text("given_name"), Some("Ram Kumar"));
        assert_eq!(f.text("family_name"), Some("Sharma"));
        assert_eq!(f.text("name_hi"), Some("राम कुमार शर्मा"));
        assert_eq!(f.text("relation_type"), Some("father"));
        assert_eq!(f.text("relative_name"), Some("Shyam Sharma"));
        assert_eq!(f.int("birth_year"), Some(1986));
        assert_eq!(f.text("sex"), Some("male"));
        assert_eq!(f.text("address.house"), Some("12 A"));
        assert_eq!(f.int("address.ward"), Some(12));
        assert_eq!(f.text("roll_part"), Some("7"));
        assert_eq!(f.text("roll_serial"), Some("101"));
        assert_eq!(f.text("status"), Some("unverified"));
        assert_eq!(r.household_key, "12|gali 4|12a");
    }

    #[test]
    fn hindi_only_single_word_and_bom() {
        let text = format!(
            "\u{feff}{HEADER}XYZ7654321,,सीता,H,,राम,,1980-05-01,f,3,,131,1,2\nXYZ7654322,Salma,,,,,33,,T,3,,131,1,3\n"
        );
        let p = parse(text.as_bytes(), &options(), &|_| {}).unwrap();
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.rows[0].fields.text("given_name"), Some("सीता"));
        assert_eq!(p.rows[0].fields.text("relative_name"), Some("राम"));
        assert_eq!(p.rows[0].fields.text("date_of_birth"), Some("1980-05-01"));
        assert_eq!(p.rows[1].fields.text("given_name"), Some("Salma"));
        assert_eq!(p.rows[1].fields.text("family_name"), None);
        assert_eq!(p.rows[1].fields.text("sex"), Some("other"));
        assert_eq!(p.rows[0].household_key, p.rows[1].household_key);
    }

    #[test]
    fn every_bad_row_is_reported_with_line_and_column() {
        let p = parse_str(
            "BAD1,Ram,,,,,30,,M,1,S,12,1,1\n\
             ABC1234567,,,,,,30,,M,1,S,12,1,2\n\
             ABC1234568,Ram,,,,,30,,X,1,S,12,1,3\n\
             ABC1234569,Ram,,,,,abc,,M,1,S,12,1,4\n\
             ABC1234570,Ram,,,,,30,,M,1,S,999,1,5\n\
             ABC1234571,Ram,,,,,30,,M,1,S,12,1,6\n\
             ABC1234571,Sita,,,,,30,,F,1,S,12,1,7\n\
             ABC1234572,Ram,,",
        );
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.bad_rows, 7);
        let at = |line: u64| p.errors.iter().find(|e| e.line == line).unwrap();
        assert_eq!((at(2).column.as_str(), at(2).value.as_str()), ("epic", "BAD1"));
        assert_eq!(at(3).column, "name_en");
        assert_eq!((at(4).column.as_str(), at(4).value.as_str()), ("sex", "X"));
        assert_eq!((at(5).column.as_str(), at(5).value.as_str()), ("age", "abc"));
        assert_eq!((at(6).column.as_str(), at(6).value.as_str()), ("ward", "999"));
        assert!(at(8).message.contains("line 7"), "{}", at(8));
        assert_eq!(at(9).column, "(row)");
        assert!(at(9).to_string().starts_with("line 9, column (row)"), "{}", at(9));
    }

    #[test]
    fn errors_are_capped_but_counted() {
        let body: String = (0..50).map(|i| format!("BAD{i},Ram,,,,,30,,M,1,S,12,1,{i}\n")).collect();
        let text = format!("{HEADER}{body}");
        let p = parse(text.as_bytes(), &ParseOptions { max_errors: 10, ..options() }, &|_| {}).unwrap();
        assert_eq!((p.errors.len(), p.bad_rows), (10, 50));
    }

    #[test]
    fn a_header_without_required_columns_is_refused() {
        assert!(
            matches!(parse(b"epic,name_en,age,sex,ward\n", &options(), &|_| {}), Err(RollError::MissingColumn(c)) if c == "house_no")
        );
        assert!(matches!(parse(b"", &options(), &|_| {}), Err(RollError::Empty)));
        assert!(matches!(
            parse(b"epic,name_en,sex,house_no,ward\n", &options(), &|_| {}),
            Err(RollError::MissingOneOf(_))
        ));
    }

    /// The row hash as every earlier import computed it: a stored hash
    /// must match the same row read again.
    fn row_hash_as_before(epic: &str, fields: &Fields, key: &str) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(epic.as_bytes());
        for (path, value) in &fields.0 {
            ctx.update(b"\x1f");
            ctx.update(path.as_bytes());
            ctx.update(b"=");
            ctx.update(value.to_json().to_string().as_bytes());
        }
        ctx.update(b"\x1f");
        ctx.update(key.as_bytes());
        hex::encode(&ctx.finish().as_ref()[..16])
    }

    #[test]
    fn row_hashes_are_the_ones_earlier_imports_stored() {
        let mut p = parse_str(
            "ABC1234567,Ram \"Bhola\" Sharma,राम शर्मा,F,Shyam Sharma,,40,,M,1/2,S\\T,12,1,1\n\
             ABC1234568,Sita,,,,,,1988-02-29,F,1,S,12,1,2\n",
        );
        assert_eq!(p.rows.len(), 2, "{:?}", p.errors);
        let sample = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../schema/samples/roll.csv")).unwrap();
        p.rows.extend(parse(&sample, &options(), &|_| {}).unwrap().rows);
        for row in &p.rows {
            assert_eq!(row.hash, row_hash_as_before(&row.epic, &row.fields, &row.household_key), "line {}", row.line);
        }
        // Every kind of value: text, number, yes/no, a set.
        let mut fields = p.rows[0].fields.clone();
        fields.0.insert("consent", FieldValue::Bool(true));
        fields.0.insert("members", FieldValue::Set([("a".into(), "A\u{1}".into())].into()));
        assert_eq!(row_hash("E", &fields, "k"), row_hash_as_before("E", &fields, "k"));
    }

    #[test]
    fn same_values_same_hash_and_key_normalised() {
        let a = parse_str("ABC1234567,Ram  Kumar,,,,,30,,M,12a,Gali 4,12,1,1\n");
        let b = parse_str("ABC1234567, Ram Kumar ,,,,,30,,male,12a,Gali 4,12,1,1\n");
        let c = parse_str("ABC1234567,Ram Kumar,,,,,30,,M,12 A,gali  4,12,1,1\n");
        assert_eq!(a.rows[0].hash, b.rows[0].hash);
        assert_ne!(a.rows[0].hash, c.rows[0].hash);
        assert_eq!(a.rows[0].household_key, c.rows[0].household_key);
    }

    #[test]
    fn plan_new_rows_makes_households_and_ids() {
        let p = parse_str(
            "ABC1234567,Ram Sharma,,,,,40,,M,1,S,12,1,1\nABC1234568,Sita Sharma,,,,,38,,F,1,S,12,1,2\n\
             ABC1234569,Imran Khan,,,,,30,,M,2,S,131,1,3\n",
        );
        let mut o = import_options();
        let known = Known { next_seq: 5, ..Known::default() };
        let plan = plan(&p.rows, &known, &HashMap::new(), &mut o).unwrap();
        assert_eq!(plan.summary.added, 3);
        assert_eq!(plan.summary.households_added, 2);
        assert_eq!(plan.writes(), 5);
        assert_eq!(plan.next_seq, 8);
        let mut writes = Vec::new();
        plan.build(&mut |chunk| {
            writes.extend(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(writes.len(), 5);
        let first = writes.iter().find(|w| w.projection.kind == RecordKind::Resident).unwrap();
        assert_eq!(first.projection.health_id, Some(HealthId::registry(5).unwrap().compact()));
        assert_eq!(first.projection.status.as_deref(), Some("unverified"));
        assert_eq!(writes[0].projection.members, 2);
        // A new document reads back exactly as its projection was made.
        for w in &writes {
            let doc = RecordDoc::load(&w.doc, &roll_actor()).unwrap();
            let record = doc.read().unwrap();
            assert_eq!(format!("{:?}", Projection::of(&record)), format!("{:?}", w.projection));
            assert!(w.new_changes.is_empty(), "the feed entry reads the document");
        }
    }

    /// New records are written ward by ward, the file's order kept within
    /// a ward, with ids and eHealth IDs ascending in that order.
    #[test]
    fn new_records_are_written_ward_by_ward() {
        let p = parse_str(
            "ABC1234567,Ram Sharma,,,,,40,,M,1,S,131,1,1\nABC1234568,Imran Khan,,,,,30,,M,2,S,12,1,2\n\
             ABC1234569,Sita Sharma,,,,,38,,F,1,S,131,1,3\nABC1234570,Asha Khan,,,,,28,,F,2,S,12,1,4\n",
        );
        let mut writes = Vec::new();
        let plan = plan(&p.rows, &Known::default(), &HashMap::new(), &mut import_options()).unwrap();
        plan.build(&mut |chunk| {
            writes.extend(chunk);
            Ok(())
        })
        .unwrap();
        let (households, residents): (Vec<_>, Vec<_>) =
            writes.iter().map(|w| &w.projection).partition(|p| p.kind == RecordKind::Household);
        let names: Vec<_> = residents.iter().map(|p| p.given_name.as_deref().unwrap_or_default()).collect();
        assert_eq!(names, ["Imran", "Asha", "Ram", "Sita"]);
        assert_eq!(households.iter().map(|h| h.ward).collect::<Vec<_>>(), [12, 131]);
        let health: Vec<_> = residents.iter().map(|p| p.health_id.clone()).collect();
        assert!(health.is_sorted(), "{health:?}");
        let ids: Vec<_> = writes.iter().map(|w| w.id.clone()).collect();
        assert!(ids.is_sorted(), "{ids:?}");
    }

    #[test]
    fn chunks_start_small_and_double() {
        assert!(chunk_sizes(0).is_empty());
        assert_eq!(chunk_sizes(10), [10]);
        assert_eq!(chunk_sizes(FIRST_CHUNK * 3 + 5), [FIRST_CHUNK, FIRST_CHUNK * 2, 5]);
        let sizes = chunk_sizes(100_000);
        assert_eq!(sizes.iter().sum::<usize>(), 100_000);
        assert_eq!(sizes[..4], [1024, 2048, 4096, 8192]);
        assert!(sizes.iter().all(|n| *n <= BUILD_CHUNK));
    }

    #[test]
    fn chunks_reach_the_writer_in_feed_order() {
        let p = three_to_a_house(12_000);
        let mut o = import_options();
        let plan = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        let expected = plan.writes();
        assert!(chunk_sizes(expected).len() > 4);
        let mut writes = Vec::new();
        let mut sizes = Vec::new();
        plan.build(&mut |chunk| {
            sizes.push(chunk.len());
            writes.extend(chunk);
            Ok(())
        })
        .unwrap();
        assert_eq!(sizes, chunk_sizes(expected));
        assert_eq!(writes.len(), expected);
        // Households first, then residents with eHealth IDs in the order given.
        let kinds: Vec<RecordKind> = writes.iter().map(|w| w.projection.kind).collect();
        let households = kinds.iter().take_while(|k| **k == RecordKind::Household).count();
        assert_eq!(households, 4000);
        assert!(kinds[households..].iter().all(|k| *k == RecordKind::Resident));
        let ids: Vec<&str> = writes[households..].iter().filter_map(|w| w.projection.health_id.as_deref()).collect();
        assert_eq!(ids.len(), 12_000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "residents out of order");
        // Record ids ascend in the order they are written, across kinds: the
        // id indexes grow at one end.
        assert!(writes.windows(2).all(|w| w[0].id < w[1].id), "record ids out of order");
    }

    #[test]
    fn a_failing_writer_stops_the_build() {
        let p = three_to_a_house(5000);
        let mut o = import_options();
        let plan = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        assert!(plan.writes() > FIRST_CHUNK);
        let mut calls = 0;
        let r = plan.build(&mut |_| {
            calls += 1;
            Err(StoreError::Database("disk full".into()))
        });
        assert!(matches!(r, Err(StoreError::Database(m)) if m == "disk full"));
        assert_eq!(calls, 1);
    }

    #[test]
    fn two_passes_give_every_row_then_every_document_in_feed_order() {
        let p = three_to_a_house(12_000);
        let mut o = import_options();
        let one = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        // The same plan (same ids) built in one pass, to compare with.
        let mut o = import_options();
        let two = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        let mut whole = Vec::new();
        one.build(&mut |chunk| {
            whole.extend(chunk);
            Ok(())
        })
        .unwrap();
        let (mut rows, mut docs, mut sizes) = (Vec::new(), Vec::new(), Vec::new());
        let (mut between, mut docs_before_between) = (0, 0);
        let between_at = std::cell::Cell::new(None);
        let row_count = std::cell::Cell::new(0);
        two.build_in_passes(
            &mut |chunk| {
                assert!(between_at.get().is_none(), "a row after `between`");
                row_count.set(row_count.get() + chunk.len());
                rows.extend(chunk);
                Ok(())
            },
            &mut || {
                between += 1;
                between_at.set(Some(row_count.get()));
                Ok(())
            },
            &mut |chunk| {
                if between_at.get().is_none() {
                    docs_before_between += 1;
                }
                sizes.push(chunk.len());
                docs.extend(chunk);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((between, docs_before_between), (1, 0));
        assert_eq!(between_at.get(), Some(whole.len()), "`between` comes once every row is written");
        assert_eq!(sizes, chunk_sizes(whole.len()));
        // The rows are the one-pass projections; the documents the same
        // bytes, with their kind and ward.
        assert_eq!(rows.len(), whole.len());
        assert_eq!(docs.len(), whole.len());
        for ((w, (id, projection)), d) in whole.iter().zip(&rows).zip(&docs) {
            assert_eq!((id, &d.id), (&w.id, &w.id));
            assert_eq!(format!("{projection:?}"), format!("{:?}", w.projection));
            assert_eq!((&d.doc, &d.heads_json), (&w.doc, &w.heads_json));
            assert_eq!((d.kind, d.ward), (w.projection.kind, w.projection.ward));
            assert_eq!((&d.new_changes, d.created), (&w.new_changes, w.created));
        }
    }

    #[test]
    fn a_failing_writer_stops_either_pass() {
        let p = three_to_a_house(5000);
        let mut fail = || Err(StoreError::Database("disk full".into()));
        let mut o = import_options();
        let first = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        let (mut rows, mut docs) = (0, 0);
        let r = first.build_in_passes(
            &mut |_| {
                rows += 1;
                fail()
            },
            &mut || panic!("`between` after a failed row"),
            &mut |_| {
                docs += 1;
                Ok(())
            },
        );
        assert!(matches!(r, Err(StoreError::Database(m)) if m == "disk full"));
        assert_eq!((rows, docs), (1, 0));
        let mut o = import_options();
        let second = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        let r =
            second.build_in_passes(&mut |_| Ok(()), &mut fail, &mut |_| panic!("a document after `between` failed"));
        assert!(matches!(r, Err(StoreError::Database(m)) if m == "disk full"));
        let mut o = import_options();
        let third = plan(&p.rows, &Known::default(), &HashMap::new(), &mut o).unwrap();
        let mut docs = 0;
        let r = third.build_in_passes(&mut |_| Ok(()), &mut || Ok(()), &mut |_| {
            docs += 1;
            fail()
        });
        assert!(matches!(r, Err(StoreError::Database(m)) if m == "disk full"));
        assert_eq!(docs, 1);
    }
}
