//! Cards: provisional cards signed with this tablet's key, printed to PDF;
//! any card verified offline against the trust list kept from the last sync.

use std::path::{Path, PathBuf};

use ehcard_card::pdf::{Layout, card_pdf};
use ehcard_card::qr::{QrMatrix, qr_modules};
use ehcard_card::trust::{SignedTrustList, TrustList, verify as verify_card};
use ehcard_card::{CardData, CardKind, Issue, key_id, payload};
use ehcard_core::RecordId;
use ehcard_store::Store;
use serde::Serialize;

use crate::FieldError;

/// A provisional card is valid for a year.
pub const PROVISIONAL_SECS: i64 = 365 * 24 * 3600;

/// The data and QR text of a resident's provisional card, signed by this
/// tablet at `now` (seconds since the epoch).
pub fn sign_card(store: &Store, id: &RecordId, now: i64) -> Result<(CardData, String), FieldError> {
    let p = store.provisioning()?.ok_or(FieldError::NotProvisioned)?;
    let key = hex::decode(&p.key_pkcs8_hex).map_err(|_| FieldError::BadDeviceKey)?;
    let public = ehcard_sync::auth::public_key(&key).map_err(|_| FieldError::BadDeviceKey)?;
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

/// Printed cards: the PDF and what is on it.
#[derive(Debug, Clone)]
pub struct PrintedCards {
    pub pdf: Vec<u8>,
    pub cards: Vec<CardData>,
}

impl PrintedCards {
    /// A4 sheets of ten.
    pub fn sheets(&self) -> usize {
        self.cards.len().div_ceil(10)
    }
}

/// Sign and print the cards of `ids` (`progress(done, total)` as each is signed).
pub fn print_cards(
    store: &Store,
    ids: &[RecordId],
    layout: Layout,
    now: i64,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PrintedCards, FieldError> {
    if ids.is_empty() {
        return Err(FieldError::NothingToPrint);
    }
    let mut batch = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let (card, text) = sign_card(store, id, now)?;
        batch.push((card, text, CardKind::Provisional));
        progress(i + 1, ids.len());
    }
    let pdf = card_pdf(&batch, layout)?;
    Ok(PrintedCards { pdf, cards: batch.into_iter().map(|(c, _, _)| c).collect() })
}

/// A card as a screen shows it before printing: its data and QR modules.
#[derive(Debug, Clone, Serialize)]
pub struct CardPreview {
    pub card: CardData,
    pub qr_text: String,
    /// Modules per side.
    pub qr_width: usize,
    /// Row-major, `true` is dark.
    pub qr_dark: Vec<bool>,
    pub expires_at: i64,
}

pub fn preview(store: &Store, id: &RecordId, now: i64) -> Result<CardPreview, FieldError> {
    let (card, text) = sign_card(store, id, now)?;
    let QrMatrix { width, dark, .. } = qr_modules(&text)?;
    Ok(CardPreview { card, qr_text: text, qr_width: width, qr_dark: dark, expires_at: now + PROVISIONAL_SECS })
}

/// QR texts in a file: a PNG or JPEG photo or scan, a PDF, or text.
pub fn qr_texts_in_file(path: &Path) -> Result<Vec<String>, FieldError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" | "jpg" | "jpeg" => scan_image(&std::fs::read(path)?),
        "pdf" => scan_pdf(path),
        _ => Ok(vec![std::fs::read_to_string(path)?.trim().to_string()]),
    }
}

/// QR texts in a file's bytes (what an app's file picker hands over).
pub fn qr_texts_in_bytes(bytes: &[u8]) -> Result<Vec<String>, FieldError> {
    if bytes.starts_with(b"%PDF") {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("in.pdf");
        std::fs::write(&file, bytes)?;
        return scan_pdf(&file);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) || bytes.starts_with(&[0xff, 0xd8]) {
        return scan_image(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(vec![text.trim().to_string()]),
        Err(_) => Err(FieldError::NotAnImage("unknown file type".into())),
    }
}

fn scan_pdf(path: &Path) -> Result<Vec<String>, FieldError> {
    let dir = tempfile::tempdir()?;
    let status = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(path)
        .arg(dir.path().join("page"))
        .status()
        .map_err(|e| FieldError::NoPdfReader(e.to_string()))?;
    if !status.success() {
        return Err(FieldError::BadPdf(path.display().to_string()));
    }
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    pages.sort();
    let mut out = Vec::new();
    for p in pages {
        out.extend(scan_image(&std::fs::read(p)?)?);
    }
    Ok(out)
}

/// The QR codes in a PNG or JPEG.
pub fn scan_image(bytes: &[u8]) -> Result<Vec<String>, FieldError> {
    let img = image::load_from_memory(bytes).map_err(|e| FieldError::NotAnImage(e.to_string()))?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let mut out = Vec::new();
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            out.push(text);
        }
    }
    Ok(out)
}

/// The trust list to check cards against: from `signed_json` (a file's
/// text) or the one the store kept from its last sync, opened with
/// `registry_key_hex` or the registry key pinned at provisioning.
pub fn trust_list(
    store: Option<&Store>,
    signed_json: Option<&str>,
    registry_key_hex: Option<&str>,
) -> Result<TrustList, FieldError> {
    let pinned = match (registry_key_hex, store) {
        (Some(h), _) => hex::decode(h.trim()).map_err(|_| FieldError::NoRegistryKey)?,
        (None, Some(s)) => s
            .provisioning()?
            .and_then(|p| p.registry_public_key_hex)
            .and_then(|h| hex::decode(h).ok())
            .ok_or(FieldError::NoRegistryKey)?,
        (None, None) => return Err(FieldError::NoRegistryKey),
    };
    let signed: SignedTrustList = match (signed_json, store) {
        (Some(text), _) => serde_json::from_str(text).map_err(|e| FieldError::BadTrustList(e.to_string()))?,
        (None, Some(s)) => serde_json::from_str(&s.setting("trust_list")?.ok_or(FieldError::NoTrustList)?)
            .map_err(|e| FieldError::BadTrustList(e.to_string()))?,
        (None, None) => return Err(FieldError::NoTrustList),
    };
    Ok(signed.open(&pinned)?)
}

/// The verdict on one card, ready to show or serialise.
#[derive(Debug, Clone, Serialize)]
pub struct CardVerdict {
    pub valid: bool,
    /// Why not, for people.
    pub reason: Option<String>,
    /// Why not, as a stable code (`bad_signature`, `expired`, …).
    pub reason_code: Option<String>,
    pub card: Option<CardData>,
    pub issue: Option<Issue>,
    pub signer: Option<String>,
}

/// Check every QR text against `list` at `now`.
pub fn verify_texts(texts: &[String], list: &TrustList, now: i64) -> Vec<CardVerdict> {
    texts
        .iter()
        .map(|text| {
            let v = verify_card(text, list, now);
            let reason_code = v.result.as_ref().err().and_then(|e| {
                serde_json::to_value(e).ok().and_then(|j| j.get("reason").and_then(|r| r.as_str()).map(str::to_string))
            });
            CardVerdict {
                valid: v.result.is_ok(),
                reason: v.result.as_ref().err().map(ToString::to_string),
                reason_code,
                card: v.decoded.as_ref().map(|d| d.card.clone()),
                issue: v.decoded.as_ref().map(|d| d.issue.clone()),
                signer: v.signer.as_ref().map(|s| s.who.clone()),
            }
        })
        .collect()
}
