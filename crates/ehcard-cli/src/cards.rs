//! Cards: print provisional cards signed with this tablet's key, and verify
//! any card offline against the trust list. The work is `ehcard_field::cards`;
//! this module reads arguments and prints.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use ehcard_card::pdf::Layout;
use ehcard_core::RecordId;
use ehcard_field::FieldError;
use ehcard_field::cards::{print_cards, qr_texts_in_file, trust_list, verify_texts};
use ehcard_store::Store;

use crate::io;

/// A card that did not verify (exit code 8).
#[derive(Debug)]
pub struct InvalidCard(pub String);

impl std::fmt::Display for InvalidCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "INVALID: {}", self.0)
    }
}

impl std::error::Error for InvalidCard {}

/// A workflow error as the command line's exit codes expect it: store and
/// sync errors stay themselves, so `exit_code` can tell them apart.
pub fn lift(e: FieldError) -> anyhow::Error {
    match e {
        FieldError::Store(s) => s.into(),
        FieldError::Sync(s) => s.into(),
        FieldError::NotProvisioned => anyhow::anyhow!(
            "this tablet is not provisioned, so it has no registered key to sign cards: run `ehcard init --server URL --code CODE`"
        ),
        FieldError::NoRegistryKey => {
            anyhow::anyhow!("no registry key: provision this tablet, or pass --registry-key HEX")
        }
        FieldError::NoTrustList => anyhow::anyhow!("no trust list yet: run `ehcard sync` once, or pass --trust FILE"),
        other => other.into(),
    }
}

pub fn card(store: &Store, id: &str, out: &Path, a4: bool) -> Result<()> {
    let rid = store.resolve(id)?;
    let layout = if a4 { Layout::A4Sheet } else { Layout::Id1 };
    let printed = print_cards(store, &[rid], layout, Utc::now().timestamp(), &mut |_, _| {}).map_err(lift)?;
    std::fs::write(out, &printed.pdf).with_context(|| format!("cannot write {}", out.display()))?;
    let card = &printed.cards[0];
    println!("printed the provisional card of {} ({}) to {}", card.full_name(), card.health_id, out.display());
    Ok(())
}

pub fn cards(store: &Store, ward: Option<i64>, ids: Option<&Path>, out: &Path) -> Result<()> {
    let ids: Vec<RecordId> = match (ward, ids) {
        (Some(w), None) => store.residents_in_ward(w)?,
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
            let mut v = Vec::new();
            for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                v.push(store.resolve(line.trim()).with_context(|| format!("{} line {}", file.display(), n + 1))?);
            }
            v
        }
        _ => bail!("give either --ward N or --ids FILE"),
    };
    if ids.is_empty() {
        bail!("no residents to print");
    }
    let mut bar = io::progress(ids.len() as u64, "signing");
    let printed =
        print_cards(store, &ids, Layout::A4Sheet, Utc::now().timestamp(), &mut |done, _| bar.set_position(done as u64));
    bar.finish();
    let printed = printed.map_err(lift)?;
    std::fs::write(out, &printed.pdf).with_context(|| format!("cannot write {}", out.display()))?;
    println!("printed {} card(s) on {} A4 sheet(s) to {}", printed.cards.len(), printed.sheets(), out.display());
    Ok(())
}

/// QR texts in a file (a PNG or JPEG photo or scan, a PDF, or text), or the
/// argument itself when it names no file.
fn qr_texts(input: &str) -> Result<Vec<String>> {
    let path = PathBuf::from(input);
    if !path.is_file() {
        return Ok(vec![input.trim().to_string()]);
    }
    qr_texts_in_file(&path).map_err(lift)
}

pub fn verify(
    store: Option<&Store>,
    input: &str,
    trust: Option<&Path>,
    registry_key: Option<&str>,
    json: bool,
) -> Result<()> {
    let signed = match trust {
        Some(f) => Some(std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?),
        None => None,
    };
    let list = trust_list(store, signed.as_deref(), registry_key).map_err(lift)?;
    let texts = qr_texts(input)?;
    if texts.is_empty() {
        return Err(InvalidCard("not a card: no QR code found (try a sharper, straighter photo)".into()).into());
    }
    let verdicts = verify_texts(&texts, &list, Utc::now().timestamp());
    for v in &verdicts {
        if json {
            let value = serde_json::json!({
                "valid": v.valid,
                "reason": v.reason,
                "card": v.card,
                "issue": v.issue,
                "signer": v.signer,
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
            continue;
        }
        if let (Some(c), Some(issue)) = (&v.card, &v.issue) {
            println!("eHealth ID   {}", c.health_id);
            println!("name         {}", c.full_name());
            if let Some(h) = &c.name_hi {
                println!("नाम          {h}");
            }
            println!(
                "born         {}",
                c.date_of_birth.clone().or(c.birth_year.map(|y| y.to_string())).unwrap_or_default()
            );
            println!("sex          {}", c.sex.clone().unwrap_or_default());
            println!("address      {}", c.address.join(", "));
            if let Some(cl) = &c.clinical {
                println!("blood group  {}", cl.blood_group.clone().unwrap_or_default());
                println!("allergies    {}", cl.allergies.join(", "));
                println!("conditions   {}", cl.chronic_conditions.join(", "));
                println!(
                    "emergency    {} {}",
                    cl.emergency_name.clone().unwrap_or_default(),
                    cl.emergency_phone.clone().unwrap_or_default()
                );
            }
            println!("card         {:?}, signed by {}", issue.kind, v.signer.as_deref().unwrap_or("an unknown key"));
        }
        match &v.reason {
            None => println!("VALID"),
            Some(why) => println!("INVALID: {why}"),
        }
    }
    if verdicts.iter().any(|v| !v.valid) {
        return Err(InvalidCard("see above".into()).into());
    }
    Ok(())
}
