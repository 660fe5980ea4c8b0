//! The commands: each reads its input, calls the store, prints the result.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use chrono::Utc;
use ehcard_core::doc::Edit;
use ehcard_core::ids::DeviceNumber;
use ehcard_core::model::{self, Input, Kind, Record, RecordKind};
use ehcard_core::validate::{FieldError, Rule};
use ehcard_core::{EditContext, Lang};
use ehcard_store::{CreateOptions, DEFAULT_ITERATIONS, LineError, Store, StoreError};
use ehcard_sync::client::SyncError;
use serde_json::{Value, json};

use crate::cli::{Args, Command};
use crate::io::{self, OsEntropy};

/// Field errors in a record given on the command line (exit code 3).
#[derive(Debug)]
pub struct InvalidInput(pub Vec<FieldError>);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", ehcard_core::validate::messages(&self.0, Lang::En))
    }
}

impl std::error::Error for InvalidInput {}

pub fn exit_code(err: &anyhow::Error) -> u8 {
    if err.downcast_ref::<InvalidInput>().is_some() {
        return 3;
    }
    if err.downcast_ref::<Incomplete>().is_some() {
        return 7;
    }
    if err.downcast_ref::<crate::cards::InvalidCard>().is_some() {
        return 8;
    }
    match err.downcast_ref::<SyncError>() {
        Some(SyncError::Unreachable(_) | SyncError::Broken(_)) => return 5,
        Some(SyncError::Revoked(_)) => return 6,
        Some(SyncError::Store(StoreError::WrongPassphrase)) => return 4,
        _ => {}
    }
    match err.downcast_ref::<StoreError>() {
        Some(StoreError::Invalid(_) | StoreError::Import(_) | StoreError::Exists(_) | StoreError::HealthIdTaken(_)) => {
            3
        }
        Some(StoreError::WrongPassphrase | StoreError::NotInitialised(_)) => 4,
        Some(StoreError::LikelyDuplicate(_)) => 9,
        _ => 1,
    }
}

/// The error as a person should read it, in their language where the
/// message is about their input.
pub fn describe(err: &anyhow::Error, lang: Lang) -> String {
    let hi = lang == Lang::Hi;
    let head = if hi { "त्रुटि" } else { "error" };
    if let Some(InvalidInput(errors)) = err.downcast_ref::<InvalidInput>() {
        let what = if hi {
            "रिकॉर्ड मान्य नहीं है; कुछ भी सहेजा नहीं गया"
        } else {
            "the record is not valid; nothing was saved"
        };
        return format!("{head}: {what}\n{}", indent(errors, lang));
    }
    if let Some(StoreError::Invalid(errors)) = err.downcast_ref::<StoreError>() {
        let what = if hi {
            "बदलाव मान्य नहीं है; कुछ भी सहेजा नहीं गया"
        } else {
            "the change is not valid; nothing was saved"
        };
        return format!("{head}: {what}\n{}", indent(errors, lang));
    }
    if let Some(StoreError::Import(lines)) = err.downcast_ref::<StoreError>() {
        let what = if hi {
            "गलत पंक्तियाँ; कुछ भी आयात नहीं हुआ"
        } else {
            "bad line(s); nothing was imported"
        };
        let mut out = format!("{head}: {} {what}\n", lines.len());
        for l in lines {
            for e in &l.errors {
                let line = if hi { "पंक्ति" } else { "line" };
                out.push_str(&format!("  {line} {}: {}\n", l.line, e.message(lang)));
            }
        }
        out.push_str("Fix these lines, or pass --skip-invalid FILE to import the rest and set these aside.");
        return out;
    }
    if let Some(StoreError::LikelyDuplicate(found)) = err.downcast_ref::<StoreError>() {
        let what = if hi {
            "यह निवासी पहले से नामांकित हो सकता है; कुछ भी सहेजा नहीं गया। इनकी जाँच करें:"
        } else {
            "this resident may already be enrolled; nothing was saved. Check these residents:"
        };
        let mut out = format!("{head}: {what}\n");
        for d in found {
            let name = [Some(d.given_name.clone()), d.family_name.clone(), d.name_hi.clone()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" / ");
            out.push_str(&format!(
                "  {}  {name}  born {}  ward {}  score {:.2}  id {}\n",
                d.health_id.as_deref().unwrap_or("-"),
                d.date_of_birth.clone().or(d.birth_year.map(|y| y.to_string())).unwrap_or_else(|| "?".into()),
                d.ward.map(|w| w.to_string()).unwrap_or_default(),
                d.score,
                d.id
            ));
            for r in &d.reasons {
                out.push_str(&format!("      - {}\n", r.detail));
            }
        }
        out.push_str(if hi {
            "यदि यह वही व्यक्ति है तो उसका रिकॉर्ड खोलें (ehcard show ID) और सुधारें; यदि नहीं, तो --not-duplicate-of ID के साथ फिर से नामांकन करें।"
        } else {
            "If one of them is this person, open that record (ehcard show ID) and correct it instead. \
             If none is, enroll again with --not-duplicate-of ID [ID...] naming each one you checked."
        });
        return out;
    }
    format!("{head}: {err:#}")
}

fn indent(errors: &[FieldError], lang: Lang) -> String {
    errors.iter().map(|e| format!("  {}", e.message(lang))).collect::<Vec<_>>().join("\n")
}

struct Ctx {
    dir: PathBuf,
    lang: Lang,
    worker: Option<String>,
}

impl Ctx {
    fn open(&self) -> Result<Store> {
        if !ehcard_store::exists(&self.dir) {
            return Err(StoreError::NotInitialised(self.dir.clone()).into());
        }
        let pass = io::passphrase("EHCARD_PASSPHRASE", "Passphrase: ")?;
        Ok(Store::open(&self.dir, &pass)?)
    }

    fn edit_context(&self, store: &Store) -> EditContext {
        let worker = self.worker.clone().unwrap_or_else(|| format!("device {}", store.device().number));
        EditContext::new(Utc::now(), worker)
    }
}

pub fn run(args: Args) -> Result<()> {
    let ctx = Ctx { dir: io::data_dir(args.data)?, lang: args.lang, worker: args.worker };
    match args.command {
        Command::Init { device_number, label, server, code, ca } => match (server, code) {
            (Some(server), Some(code)) => init_server(&ctx, &server, &code, ca.as_deref()),
            _ => init(&ctx, device_number, label),
        },
        Command::Sync { json } => sync(&ctx, json),
        Command::Passwd => passwd(&ctx),
        Command::Enroll { json, household, json_out, not_duplicate_of } => {
            enroll(&ctx, json, household, json_out, &not_duplicate_of)
        }
        Command::Confirm { id } => set_status(&ctx, &id, "verified"),
        Command::Mark { id, status } => set_status(&ctx, &id, status.as_status()),
        Command::Household { id, json } => household(&ctx, &id, json),
        Command::Import { file, skip_invalid } => import(&ctx, &file, skip_invalid.as_deref()),
        Command::Edit { id, sets, json } => edit(&ctx, &id, &sets, json),
        Command::Show { id, json } => show(&ctx, &id, json),
        Command::Search { text, json, limit } => search(&ctx, &text.join(" "), json, limit),
        Command::Households { ward, json, limit } => households(&ctx, ward, json, limit),
        Command::Stats { json } => stats(&ctx, json),
        Command::Export { file } => export(&ctx, &file),
        Command::Reindex => reindex(&ctx),
        Command::Card { id, out, a4 } => crate::cards::card(&ctx.open()?, &id, &out, a4),
        Command::Cards { ward, ids, out } => crate::cards::cards(&ctx.open()?, ward, ids.as_deref(), &out),
        Command::Verify { input, trust, registry_key, json } => {
            let store = if registry_key.is_some() && trust.is_some() { None } else { Some(ctx.open()?) };
            crate::cards::verify(store.as_ref(), &input, trust.as_deref(), registry_key.as_deref(), json)
        }
    }
}

fn init(ctx: &Ctx, device_number: u32, label: String) -> Result<()> {
    if ehcard_store::exists(&ctx.dir) {
        return Err(StoreError::AlreadyInitialised(ctx.dir.clone()).into());
    }
    let number = DeviceNumber::new(device_number)?;
    let pass = io::new_passphrase("EHCARD_PASSPHRASE")?;
    let options = CreateOptions { device_number: number, device_label: label, kdf_iterations: DEFAULT_ITERATIONS };
    let store = Store::create(&ctx.dir, &pass, &options, &mut OsEntropy::new())?;
    println!("created an encrypted store in {}", store.dir().display());
    println!("device number {} ({})", store.device().number, store.device().label);
    if number.get() == 0 {
        println!(
            "note: device number 00000 is for a standalone device; eHealth IDs made here are unique only on this device"
        );
    }
    Ok(())
}

fn init_server(ctx: &Ctx, server: &str, code: &str, ca: Option<&Path>) -> Result<()> {
    if ehcard_store::exists(&ctx.dir) {
        return Err(StoreError::AlreadyInitialised(ctx.dir.clone()).into());
    }
    let ca_pem = match ca {
        Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?),
        None => None,
    };
    let pass = io::new_passphrase("EHCARD_PASSPHRASE")?;
    let mut req = ehcard_field::provision::ProvisionRequest::new(server, code, &pass, Utc::now().timestamp());
    req.ca_pem = ca_pem.as_deref();
    let store = ehcard_field::provision(&ctx.dir, &req, &mut OsEntropy::new()).map_err(|e| match e {
        ehcard_field::FieldError::Sync(s) => anyhow::Error::from(s).context("provisioning failed; nothing was created"),
        other => crate::cards::lift(other),
    })?;
    let p = store.provisioning()?.ok_or(SyncError::NotProvisioned)?;
    println!("provisioned as device {} ({}) for ward(s) {:?}", store.device().number, store.device().label, p.wards);
    println!("created an encrypted store in {}", store.dir().display());
    println!("next: `ehcard sync` to fetch your wards' records");
    Ok(())
}

/// A sync that ended with changes still unsent (exit code 7).
#[derive(Debug)]
pub struct Incomplete(pub u64);

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sync incomplete: {} record(s) still to send; run `ehcard sync` again", self.0)
    }
}

impl std::error::Error for Incomplete {}

fn sync(ctx: &Ctx, json: bool) -> Result<()> {
    let mut store = ctx.open()?;
    let mut up = io::progress(0, "sending");
    let mut down = io::progress(0, "receiving");
    let summary = ehcard_field::sync(&mut store, Utc::now().timestamp(), &mut |pr| {
        if pr.phase == "push" {
            up.set_length(pr.records_up_total);
            up.set_position(pr.records_up);
        } else {
            down.set_position(pr.records_down);
        }
    });
    up.finish();
    down.finish();
    let summary = summary.map_err(crate::cards::lift)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "sent {} record(s) ({} merged, {} already there), {} KB up",
            summary.pushed,
            summary.merged,
            summary.unchanged,
            summary.bytes_up / 1024
        );
        println!(
            "received {} change(s): {} new record(s), {} updated, {} KB down",
            summary.pulled,
            summary.created,
            summary.updated,
            summary.bytes_down / 1024
        );
        if !summary.conflicts.is_empty() {
            println!(
                "{} record(s) now show conflicting values (see `ehcard show ID`): {}",
                summary.conflicts.len(),
                summary.conflicts.join(", ")
            );
        }
    }
    if !summary.complete {
        return Err(Incomplete(summary.still_pending).into());
    }
    if !json {
        println!("sync complete: the server has every record on this tablet");
    }
    Ok(())
}

fn passwd(ctx: &Ctx) -> Result<()> {
    let old = io::passphrase("EHCARD_PASSPHRASE", "Current passphrase: ")?;
    let new = io::new_passphrase("EHCARD_NEW_PASSPHRASE")?;
    Store::change_passphrase(&ctx.dir, &old, &new)?;
    println!("passphrase changed");
    Ok(())
}

fn read_json_arg(arg: Option<String>) -> Result<String> {
    match arg.as_deref() {
        Some("-") | None => {
            if std::io::stdin().is_terminal() {
                eprintln!("reading the record from standard input (end with Ctrl-D)…");
            }
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).context("could not read standard input")?;
            Ok(s)
        }
        Some(s) => Ok(s.to_string()),
    }
}

fn parse_record(text: &str, kind: RecordKind, today: chrono::NaiveDate) -> Result<Input, Vec<FieldError>> {
    let value: Value = serde_json::from_str(text.trim())
        .map_err(|e| vec![FieldError::new("(record)", Rule::NotJson(e.to_string()))])?;
    let kind = match value.get("kind").and_then(Value::as_str).and_then(RecordKind::parse) {
        Some(k) => k,
        None => kind,
    };
    model::parse_input(kind, &value, today)
}

fn enroll(ctx: &Ctx, json: Option<String>, household: bool, json_out: bool, checked: &[String]) -> Result<()> {
    let text = read_json_arg(json)?;
    let kind = if household { RecordKind::Household } else { RecordKind::Resident };
    let today = Utc::now().date_naive();
    let input = parse_record(&text, kind, today).map_err(InvalidInput)?;
    let mut store = ctx.open()?;
    let checked = checked.iter().map(|c| store.resolve(c)).collect::<Result<Vec<_>, _>>()?;
    let ectx = ctx.edit_context(&store);
    let record = store.enroll(input, &checked, &mut OsEntropy::new(), &ectx)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&record.to_json())?);
    } else {
        print_summary(&record, ctx.lang);
    }
    Ok(())
}

fn set_status(ctx: &Ctx, id: &str, status: &str) -> Result<()> {
    let mut store = ctx.open()?;
    let rid = store.resolve(id)?;
    let ectx = ctx.edit_context(&store);
    let record = store.set_status(&rid, status, &ectx)?;
    let hid = record.meta.health_id.map(|h| h.to_string()).unwrap_or_default();
    println!("{} {}  {hid}  is now {}", record.display_name(), record.meta.id, status.replace('_', " "));
    Ok(())
}

fn household(ctx: &Ctx, id: &str, json: bool) -> Result<()> {
    let store = ctx.open()?;
    let hid: ehcard_core::RecordId = id.parse().map_err(|_| StoreError::NotFound(id.to_string()))?;
    let record = store.show(&hid)?;
    let members = store.members(&hid)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"household": record.to_json(), "members": members}))?
        );
        return Ok(());
    }
    let f = &record.fields;
    let addr = ["address.house", "address.street", "address.locality"]
        .iter()
        .filter_map(|p| f.text(p))
        .collect::<Vec<_>>()
        .join(", ");
    println!("household {}  ward {}  {addr}", record.meta.id, f.int("address.ward").unwrap_or(0));
    for m in members {
        let name =
            [Some(m.given_name.clone()), m.family_name.clone()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        println!(
            "  {:<14}  {:<28} {:<20} {:<4} {:<6} {:<12} {}",
            m.health_id.unwrap_or_default(),
            name,
            m.name_hi.unwrap_or_default(),
            m.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            m.sex.unwrap_or_default(),
            m.status.as_deref().unwrap_or("verified").replace('_', " "),
            m.id
        );
    }
    Ok(())
}

fn print_summary(record: &Record, lang: Lang) {
    let (enrolled, hid) = match lang {
        Lang::En => ("enrolled", "eHealth ID"),
        Lang::Hi => ("नामांकित", "ई-हेल्थ आईडी"),
    };
    match record.meta.kind {
        RecordKind::Resident => println!(
            "{enrolled} {}  {hid} {}  id {}",
            record.display_name(),
            record.meta.health_id.map(|h| h.to_string()).unwrap_or_default(),
            record.meta.id
        ),
        RecordKind::Household => println!("household {}", record.meta.id),
    }
}

fn import(ctx: &Ctx, file: &Path, skip_invalid: Option<&Path>) -> Result<()> {
    let f = File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let today = Utc::now().date_naive();
    let mut bar = io::progress(total, "checking");
    let mut inputs: Vec<Input> = Vec::new();
    let mut lines_of: Vec<usize> = Vec::new();
    let mut bad: Vec<(LineError, String)> = Vec::new();
    let mut reader = BufReader::new(f);
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).with_context(|| format!("cannot read {}", file.display()))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        bar.inc(n as u64);
        let Ok(text) = std::str::from_utf8(&buf) else {
            let e = FieldError::new("(record)", Rule::NotJson("not UTF-8 text".into()));
            bad.push((LineError { line: line_no, errors: vec![e] }, String::from_utf8_lossy(&buf).into_owned()));
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        match parse_record(text, RecordKind::Resident, today) {
            Ok(input) => {
                inputs.push(input);
                lines_of.push(line_no);
            }
            Err(errors) => bad.push((LineError { line: line_no, errors }, text.trim_end().to_string())),
        }
    }
    bar.finish();

    let mut store = ctx.open()?;
    // Ids and eHealth IDs must be new to the store and to the file.
    let mut seen_ids = HashSet::new();
    let mut seen_health = HashSet::new();
    let mut keep = Vec::with_capacity(inputs.len());
    for (input, line) in inputs.into_iter().zip(lines_of) {
        let mut errors = Vec::new();
        if let Some(id) = input.id
            && (!seen_ids.insert(id) || store.contains(&id)?)
        {
            errors.push(FieldError::new("id", Rule::Taken));
        }
        if let Some(h) = input.carried.health_id
            && (!seen_health.insert(h) || store.health_id_in_use(&h)?)
        {
            errors.push(FieldError::new("health_id", Rule::Taken));
        }
        if errors.is_empty() {
            keep.push(input);
        } else {
            bad.push((LineError { line, errors }, String::new()));
        }
    }
    bad.sort_by_key(|(l, _)| l.line);

    if !bad.is_empty() {
        match skip_invalid {
            None => return Err(StoreError::Import(bad.into_iter().map(|(l, _)| l).collect()).into()),
            Some(path) => write_rejects(path, &bad, ctx.lang)?,
        }
    }
    let ectx = ctx.edit_context(&store);
    let mut bar = io::progress(keep.len() as u64, "importing");
    let n = store.import(keep, &mut OsEntropy::new(), &ectx, &mut |done| bar.set_position(done as u64))?;
    bar.finish();
    println!("imported {n} record(s) from {}", file.display());
    if let Some(path) = skip_invalid.filter(|_| !bad.is_empty()) {
        println!("set aside {} bad line(s) in {}", bad.len(), path.display());
    }
    Ok(())
}

fn write_rejects(path: &Path, bad: &[(LineError, String)], lang: Lang) -> Result<()> {
    let mut out = BufWriter::new(File::create(path).with_context(|| format!("cannot write {}", path.display()))?);
    for (l, text) in bad {
        let record = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.clone()));
        let line = json!({
            "line": l.line,
            "errors": l.errors.iter().map(|e| e.to_json(lang)).collect::<Vec<_>>(),
            "record": record,
        });
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

/// `path=value`, `path+=item`, `path-=item`.
fn parse_set(arg: &str, kind: RecordKind, today: chrono::NaiveDate) -> Result<Edit, FieldError> {
    let (lhs, value) = arg
        .split_once('=')
        .ok_or_else(|| FieldError::new(arg.to_string(), Rule::NotJson("write --set path=value".into())))?;
    let (path, op) = match lhs.strip_suffix('+') {
        Some(p) => (p, '+'),
        None => match lhs.strip_suffix('-') {
            Some(p) => (p, '-'),
            None => (lhs, '='),
        },
    };
    let path = path.trim();
    let Some(spec) = model::spec(kind, path) else {
        let rule = if model::META_KEYS.contains(&path) { Rule::NotSettable } else { Rule::UnknownField };
        return Err(FieldError::new(path, rule));
    };
    match (op, spec.kind) {
        ('=', _) => match model::parse_text_value(spec, value, today) {
            Ok(Some(v)) => Ok(Edit::Set(spec.path, v)),
            Ok(None) => Ok(Edit::Clear(spec.path)),
            Err(rule) => Err(FieldError::new(path, rule)),
        },
        ('+', Kind::Set { .. }) => match model::parse_text_value(spec, value, today) {
            Ok(Some(model::FieldValue::Set(items))) => {
                items.into_values().next().map(|v| Edit::Add(spec.path, v)).ok_or(FieldError::new(path, Rule::Empty))
            }
            Ok(_) => Err(FieldError::new(path, Rule::Empty)),
            Err(rule) => Err(FieldError::new(path, rule)),
        },
        ('-', Kind::Set { .. }) => Ok(Edit::Remove(spec.path, value.to_string())),
        _ => Err(FieldError::new(path, Rule::NotASet)),
    }
}

fn edit(ctx: &Ctx, id: &str, sets: &[String], json: bool) -> Result<()> {
    let mut store = ctx.open()?;
    let rid = store.resolve(id)?;
    let kind = store.show(&rid)?.meta.kind;
    let today = Utc::now().date_naive();
    let mut edits = Vec::new();
    let mut errors = Vec::new();
    for s in sets {
        match parse_set(s, kind, today) {
            Ok(e) => edits.push(e),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(InvalidInput(errors).into());
    }
    let ectx = ctx.edit_context(&store);
    let record = store.edit(&rid, &edits, &ectx)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record.to_json())?);
    } else {
        println!("saved {} ({})", record.display_name(), record.meta.id);
    }
    Ok(())
}

fn show(ctx: &Ctx, id: &str, json: bool) -> Result<()> {
    let store = ctx.open()?;
    let rid = store.resolve(id)?;
    let record = store.show(&rid)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&record.to_json())?);
        return Ok(());
    }
    let typed = id.parse::<ehcard_core::ids::HealthId>().ok();
    if let Some(h) = typed
        && record.meta.health_id != Some(h)
    {
        println!("eHealth ID {h} was merged into this record by the registry; its cards still work.\n");
    }
    if let Some(survivor) = record.fields.text("merged_into") {
        println!("This record was merged into {survivor} by the registry.\n");
    }
    print_record(&record);
    println!("{:<34} {}", "sync", store.sync_state(&rid)?.describe());
    Ok(())
}

fn print_record(record: &Record) {
    let j = record.to_json();
    let Value::Object(map) = j else { return };
    for (k, v) in map {
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    println!("{:<34} {}", format!("{k}.{ik}"), plain(&iv));
                }
            }
            Value::Array(items) if k == "conflicts" => {
                for c in items {
                    let field = c.get("field").and_then(Value::as_str).unwrap_or("");
                    let values = c.get("values").map(plain).unwrap_or_default();
                    println!("{:<34} {values}", format!("CONFLICT {field}"));
                }
            }
            other => println!("{k:<34} {}", plain(&other)),
        }
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn search(ctx: &Ctx, text: &str, json: bool, limit: usize) -> Result<()> {
    let store = ctx.open()?;
    let hits = store.search(text, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&hits)?);
        return Ok(());
    }
    if hits.is_empty() {
        println!("no resident matches {text:?}");
        return Ok(());
    }
    for h in hits {
        let name = match &h.family_name {
            Some(f) => format!("{} {f}", h.given_name),
            None => h.given_name.clone(),
        };
        println!(
            "{:<14}  {:<28} {:<20} {:<4} {:<5} ward {:<3} {}",
            h.health_id.unwrap_or_default(),
            name,
            h.name_hi.unwrap_or_default(),
            h.birth_year.map(|y| y.to_string()).unwrap_or_default(),
            h.sex.unwrap_or_default(),
            h.ward.map(|w| w.to_string()).unwrap_or_default(),
            h.id
        );
    }
    Ok(())
}

fn households(ctx: &Ctx, ward: Option<i64>, json: bool, limit: usize) -> Result<()> {
    let store = ctx.open()?;
    let rows = store.households(ward, limit)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("no households{}", ward.map(|w| format!(" in ward {w}")).unwrap_or_default());
    }
    for h in rows {
        let addr = [h.house, h.street, h.locality].into_iter().flatten().collect::<Vec<_>>().join(", ");
        println!(
            "ward {:<3} {:<40} head {:<24} {} member(s){}  {}",
            h.ward.map(|w| w.to_string()).unwrap_or_default(),
            addr,
            h.head_name.unwrap_or_else(|| "-".into()),
            h.members,
            if h.unverified > 0 { format!(", {} to confirm", h.unverified) } else { String::new() },
            h.id
        );
    }
    Ok(())
}

fn stats(ctx: &Ctx, json: bool) -> Result<()> {
    let store = ctx.open()?;
    let s = store.stats(&ctx.edit_context(&store))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!("device          {} ({})", s.device_number, s.device_label);
    println!("residents       {}", s.residents);
    println!("households      {}", s.households);
    println!("enrolled today  {}", s.enrolled_today);
    println!("with conflicts  {}", s.with_conflicts);
    for (status, n) in &s.by_status {
        println!("  {:<13} {n}", status.replace('_', " "));
    }
    if s.merged > 0 {
        println!("merged away     {}", s.merged);
    }
    for (w, n) in &s.by_ward {
        println!("ward {w:<10} {n}");
    }
    Ok(())
}

fn export(ctx: &Ctx, file: &Path) -> Result<()> {
    let store = ctx.open()?;
    let to_stdout = file.as_os_str() == "-";
    let mut out: Box<dyn Write> = if to_stdout {
        Box::new(BufWriter::new(std::io::stdout().lock()))
    } else {
        Box::new(BufWriter::new(File::create(file).with_context(|| format!("cannot write {}", file.display()))?))
    };
    let n = store.export(&mut |record| {
        writeln!(out, "{}", record.to_json()).map_err(StoreError::Io)?;
        Ok(())
    })?;
    out.flush()?;
    drop(out);
    if !to_stdout {
        println!("exported {n} record(s) to {}", file.display());
    }
    Ok(())
}

fn reindex(ctx: &Ctx) -> Result<()> {
    let mut store = ctx.open()?;
    let mut bar = io::progress(0, "reindexing");
    let n = store.reindex(&mut |n| bar.set_position(n as u64))?;
    bar.finish();
    println!("rebuilt the query tables from {n} record document(s)");
    Ok(())
}
