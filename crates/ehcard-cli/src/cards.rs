//! Cards: print provisional cards signed with this tablet's key, and verify
//! any card offline against the trust list.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::Utc;
use ehcard_card::pdf::{Layout, card_pdf};
use ehcard_card::trust::{SignedTrustList, TrustList, verify as verify_card};
use ehcard_card::{CardData, CardKind, Issue, key_id, payload};
use ehcard_core::RecordId;
use ehcard_store::Store;

use crate::io;

/// A provisional card is valid for a year.
const PROVISIONAL_SECS: i64 = 365 * 24 * 3600;

/// A card that did not verify (exit code 8).
#[derive(Debug)]
pub struct InvalidCard(pub String);

impl std::fmt::Display for InvalidCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "INVALID: {}", self.0)
    }
}

impl std::error::Error for InvalidCard {}

/// The QR text of a resident's provisional card, signed by this tablet.
fn sign_card(store: &Store, id: &RecordId, now: i64) -> Result<(CardData, String)> {
    let p = store
        .provisioning()?
        .ok_or_else(|| anyhow!("this tablet is not provisioned, so it has no registered key to sign cards: run `ehcard init --server URL --code CODE`"))?;
    let key = hex::decode(&p.key_pkcs8_hex).context("the device key is damaged")?;
    let public = ehcard_sync::auth::public_key(&key)?;
    let record = store.show(id)?;
    let card = CardData::from_record(&record)?;
    let issue = Issue {
        issuer: p.server_url.clone(),
        kind: CardKind::Provisional,
        issued_at: now,
        expires_at: Some(now + PROVISIONAL_SECS),
    };
    let text = payload::encode(&card, &issue, &key_id(&public), &key)?;
    Ok((card, text))
}

pub fn card(store: &Store, id: &str, out: &Path, a4: bool) -> Result<()> {
    let rid = store.resolve(id)?;
    let (card, text) = sign_card(store, &rid, Utc::now().timestamp())?;
    let layout = if a4 { Layout::A4Sheet } else { Layout::Id1 };
    let pdf = card_pdf(&[(card.clone(), text, CardKind::Provisional)], layout)?;
    std::fs::write(out, pdf).with_context(|| format!("cannot write {}", out.display()))?;
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
    let now = Utc::now().timestamp();
    let mut bar = io::progress(ids.len() as u64, "signing");
    let mut batch = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let (card, text) = sign_card(store, id, now)?;
        batch.push((card, text, CardKind::Provisional));
        bar.set_position(i as u64 + 1);
    }
    bar.finish();
    let pdf = card_pdf(&batch, Layout::A4Sheet)?;
    std::fs::write(out, pdf).with_context(|| format!("cannot write {}", out.display()))?;
    println!("printed {} card(s) on {} A4 sheet(s) to {}", batch.len(), batch.len().div_ceil(10), out.display());
    Ok(())
}

/// QR texts in a file: a PNG or JPEG photo or scan, a PDF, or text.
fn qr_texts(input: &str) -> Result<Vec<String>> {
    let path = PathBuf::from(input);
    if !path.is_file() {
        return Ok(vec![input.trim().to_string()]);
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" => scan(&std::fs::read(&path)?),
        "pdf" => {
            let dir = tempfile::tempdir()?;
            let status = std::process::Command::new("pdftoppm")
                .args(["-r", "300", "-png"])
                .arg(&path)
                .arg(dir.path().join("page"))
                .status()
                .context("pdftoppm (poppler-utils) is needed to read a PDF")?;
            if !status.success() {
                bail!("{} is not a readable PDF", path.display());
            }
            let mut pages: Vec<PathBuf> =
                std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            pages.sort();
            let mut out = Vec::new();
            for p in pages {
                out.extend(scan(&std::fs::read(p)?)?);
            }
            Ok(out)
        }
        _ => Ok(vec![std::fs::read_to_string(&path)?.trim().to_string()]),
    }
}

fn scan(bytes: &[u8]) -> Result<Vec<String>> {
    let img = image::load_from_memory(bytes).context("not a PNG or JPEG image")?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let mut out = Vec::new();
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            out.push(text);
        }
    }
    Ok(out)
}

fn trust_list(store: Option<&Store>, file: Option<&Path>, registry_key: Option<&str>) -> Result<TrustList> {
    let pinned = match (registry_key, store) {
        (Some(h), _) => hex::decode(h.trim()).context("--registry-key is not hex")?,
        (None, Some(s)) => s
            .provisioning()?
            .and_then(|p| p.registry_public_key_hex)
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| anyhow!("no registry key: provision this tablet, or pass --registry-key HEX"))?,
        (None, None) => bail!("no registry key: pass --registry-key HEX with --trust FILE"),
    };
    let signed: SignedTrustList = match (file, store) {
        (Some(f), _) => {
            serde_json::from_str(&std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?)
                .context("the --trust file is not a trust list")?
        }
        (None, Some(s)) => serde_json::from_str(
            &s.setting("trust_list")?
                .ok_or_else(|| anyhow!("no trust list yet: run `ehcard sync` once, or pass --trust FILE"))?,
        )?,
        (None, None) => bail!("no trust list: pass --trust FILE"),
    };
    Ok(signed.open(&pinned)?)
}

pub fn verify(
    store: Option<&Store>,
    input: &str,
    trust: Option<&Path>,
    registry_key: Option<&str>,
    json: bool,
) -> Result<()> {
    let list = trust_list(store, trust, registry_key)?;
    let texts = qr_texts(input)?;
    if texts.is_empty() {
        return Err(InvalidCard("not a card: no QR code found (try a sharper, straighter photo)".into()).into());
    }
    let now = Utc::now().timestamp();
    let mut all_valid = true;
    for text in &texts {
        let v = verify_card(text, &list, now);
        if json {
            let value = serde_json::json!({
                "valid": v.result.is_ok(),
                "reason": v.result.as_ref().err().map(ToString::to_string),
                "card": v.decoded.as_ref().map(|d| &d.card),
                "issue": v.decoded.as_ref().map(|d| &d.issue),
                "signer": v.signer.as_ref().map(|s| &s.who),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        } else {
            if let Some(d) = &v.decoded {
                let c = &d.card;
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
                println!(
                    "card         {:?}, signed by {}",
                    d.issue.kind,
                    v.signer.as_ref().map(|s| s.who.as_str()).unwrap_or("an unknown key")
                );
            }
            match &v.result {
                Ok(()) => println!("VALID"),
                Err(why) => println!("INVALID: {why}"),
            }
        }
        all_valid &= v.result.is_ok();
    }
    if !all_valid {
        return Err(InvalidCard("see above".into()).into());
    }
    Ok(())
}
