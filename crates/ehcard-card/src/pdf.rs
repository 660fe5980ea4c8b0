//! Printing cards to PDF: ID-1 pages (one page per card face) or A4 sheets
//! of ten cards with cut marks.
//!
//! Text is shaped with rustybuzz (Devanagari needs reordering, conjuncts and
//! mark positioning) in the vendored Noto fonts (`fonts/README.md`) and
//! written as glyph ids, each carrying the source text of its cluster, with
//! Devanagari runs also wrapped in an `/ActualText` span so that copying or
//! `pdftotext` gives back the original Unicode. The QR is drawn as vector
//! rectangles, one per run of dark modules in a row.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use printpdf::{
    Codepoint, Color, DictItem, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument, PdfFontHandle,
    PdfPage, PdfSaveOptions, Point, Pt, Rect, Rgb, TextItem, TextMatrix,
};
use rustybuzz::ttf_parser::GlyphId;
use rustybuzz::{Face, UnicodeBuffer};

use crate::qr::{QrMatrix, qr_modules};
use crate::{CardData, CardError, CardKind};

/// ISO/IEC 7810 ID-1, in millimetres.
pub const CARD_WIDTH_MM: f32 = 85.60;
pub const CARD_HEIGHT_MM: f32 = 53.98;
/// Left and right margin inside a card.
pub const MARGIN_MM: f32 = 4.0;
/// The width a line of text on the front may take.
pub const TEXT_WIDTH_MM: f32 = CARD_WIDTH_MM - 2.0 * MARGIN_MM;
/// The size names are printed at when they fit; longer names shrink.
pub const NAME_PT: f32 = 11.0;

/// A4, and the grid of cards on it: 2 columns × 5 rows with gutters for the
/// cut marks.
pub const A4_WIDTH_MM: f32 = 210.0;
pub const A4_HEIGHT_MM: f32 = 297.0;
pub const SHEET_COLUMNS: usize = 2;
pub const SHEET_ROWS: usize = 5;
pub const SHEET_GUTTER_X_MM: f32 = 8.0;
pub const SHEET_GUTTER_Y_MM: f32 = 3.0;

/// How cards are put on paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One ID-1 page per face: front, back, front, back, …
    Id1,
    /// A4 sheets of ten cards: a sheet of fronts, then the sheet of their
    /// backs with the columns mirrored (for duplex printing flipped on the
    /// long edge, each back lands behind its front).
    A4Sheet,
}

/// Where the card in `slot` (0..10, row by row) sits on an A4 sheet: its
/// lower-left corner in millimetres from the page's lower-left corner. On a
/// back sheet the columns are mirrored.
pub fn sheet_slot_origin(slot: usize, back: bool) -> (f32, f32) {
    let (row, mut col) = (slot / SHEET_COLUMNS, slot % SHEET_COLUMNS);
    if back {
        col = SHEET_COLUMNS - 1 - col;
    }
    let grid_w = SHEET_COLUMNS as f32 * CARD_WIDTH_MM + (SHEET_COLUMNS - 1) as f32 * SHEET_GUTTER_X_MM;
    let grid_h = SHEET_ROWS as f32 * CARD_HEIGHT_MM + (SHEET_ROWS - 1) as f32 * SHEET_GUTTER_Y_MM;
    let left = (A4_WIDTH_MM - grid_w) / 2.0;
    let top = (A4_HEIGHT_MM + grid_h) / 2.0;
    let x = left + col as f32 * (CARD_WIDTH_MM + SHEET_GUTTER_X_MM);
    let y = top - (row as f32 + 1.0) * CARD_HEIGHT_MM - row as f32 * SHEET_GUTTER_Y_MM;
    (x, y)
}

// ---------------------------------------------------------------- fonts

static NOTO_SANS: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static NOTO_SANS_BOLD: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");
static NOTO_DEVA: &[u8] = include_bytes!("../fonts/NotoSansDevanagari-Regular.ttf");
static NOTO_DEVA_BOLD: &[u8] = include_bytes!("../fonts/NotoSansDevanagari-Bold.ttf");
const FONT_BYTES: [&[u8]; 4] = [NOTO_SANS, NOTO_SANS_BOLD, NOTO_DEVA, NOTO_DEVA_BOLD];

struct Fonts {
    faces: Vec<Face<'static>>,
    parsed: Vec<ParsedFont>,
}

fn fonts() -> Result<&'static Fonts, CardError> {
    static FONTS: OnceLock<Option<Fonts>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let faces = FONT_BYTES.iter().map(|b| Face::from_slice(b, 0)).collect::<Option<Vec<_>>>()?;
            let parsed =
                FONT_BYTES.iter().map(|b| ParsedFont::from_bytes(b, 0, &mut Vec::new())).collect::<Option<Vec<_>>>()?;
            Some(Fonts { faces, parsed })
        })
        .as_ref()
        .ok_or_else(|| CardError::Print("a vendored font does not parse".into()))
}

fn is_devanagari(c: char) -> bool {
    ('\u{0900}'..='\u{097F}').contains(&c) || ('\u{A8E0}'..='\u{A8FF}').contains(&c)
}

/// Characters that take the script of the text around them.
fn is_neutral(c: char) -> bool {
    c == ' ' || c == '\u{200C}' || c == '\u{200D}'
}

/// Which of the four fonts: 0/1 Noto Sans regular/bold, 2/3 Devanagari.
fn font_index(deva: bool, bold: bool) -> usize {
    usize::from(deva) * 2 + usize::from(bold)
}

/// One shaped run of text in one font.
struct Run {
    font: usize,
    text: String,
    /// Glyphs with their TJ offsets (1/1000 em, positive moves left).
    glyphs: Vec<Codepoint>,
    /// Offset before the first glyph (its x offset), 1/1000 em.
    lead: f32,
    /// Advance of the whole run, 1/1000 em.
    advance: f32,
}

/// Split into script runs: Devanagari, everything else.
fn script_runs(text: &str) -> Vec<(bool, String)> {
    let mut runs: Vec<(bool, String)> = Vec::new();
    for c in text.chars() {
        let deva = if is_neutral(c) { runs.last().map(|r| r.0) } else { Some(is_devanagari(c)) };
        match (runs.last_mut(), deva) {
            (Some(last), Some(d)) if last.0 == d => last.1.push(c),
            (Some(last), None) => last.1.push(c),
            (_, d) => runs.push((d.unwrap_or(false), c.to_string())),
        }
    }
    runs
}

fn shape_run(fonts: &Fonts, font: usize, text: &str) -> Run {
    let face = &fonts.faces[font];
    let scale = 1000.0 / face.units_per_em() as f32;
    let mut buffer = UnicodeBuffer::new();
    buffer.push_str(text);
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(face, &[], buffer);
    let infos = shaped.glyph_infos();
    let positions = shaped.glyph_positions();
    // The source text of each cluster: from its start to the next cluster's.
    let mut starts: Vec<usize> = infos.iter().map(|g| g.cluster as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    let cluster_text = |start: usize| {
        let end = starts.iter().copied().find(|s| *s > start).unwrap_or(text.len());
        text.get(start..end).unwrap_or_default().to_string()
    };
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut seen = std::collections::HashSet::new();
    let mut advance = 0.0;
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let gid = u16::try_from(info.glyph_id).unwrap_or(0);
        // The width printpdf writes in /W for this glyph (truncated like it).
        let pdf_width = face.glyph_hor_advance(GlyphId(gid)).map_or(0.0, |w| (f32::from(w) * scale).trunc());
        let next_dx = positions.get(i + 1).map_or(0, |p| p.x_offset);
        // After the glyph the PDF pen moves `pdf_width`; it must move to the
        // next glyph's origin plus that glyph's x offset.
        let wanted = (pos.x_advance + next_dx - pos.x_offset) as f32 * scale;
        let offset = pdf_width - wanted;
        let cluster = info.cluster as usize;
        let unicode = if seen.insert(cluster) { cluster_text(cluster) } else { String::new() };
        glyphs.push(Codepoint::with_cid(gid, offset, unicode));
        advance += pos.x_advance as f32 * scale;
    }
    let lead = positions.first().map_or(0.0, |p| -(p.x_offset as f32) * scale);
    Run { font, text: text.to_string(), glyphs, lead, advance }
}

fn shape(fonts: &Fonts, text: &str, bold: bool) -> Vec<Run> {
    script_runs(text).into_iter().map(|(deva, t)| shape_run(fonts, font_index(deva, bold), &t)).collect()
}

const PT_PER_MM: f32 = 72.0 / 25.4;

/// The printed width of `text` at `size_pt`, in millimetres, from the
/// shaped advances.
pub fn text_width_mm(text: &str, bold: bool, size_pt: f32) -> Result<f32, CardError> {
    let fonts = fonts()?;
    Ok(width_of(&shape(fonts, text, bold), size_pt))
}

fn width_of(runs: &[Run], size_pt: f32) -> f32 {
    runs.iter().map(|r| r.advance).sum::<f32>() / 1000.0 * size_pt / PT_PER_MM
}

/// The size (at most `size_pt`) at which `text` fits in `max_mm`.
pub fn fit_size(text: &str, bold: bool, size_pt: f32, max_mm: f32) -> Result<f32, CardError> {
    let w = text_width_mm(text, bold, size_pt)?;
    Ok(if w > max_mm { size_pt * max_mm / w * 0.999 } else { size_pt })
}

// ---------------------------------------------------------------- drawing

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::Rgb(Rgb::new(f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0, None))
}

fn black() -> Color {
    rgb(0, 0, 0)
}

const ACCENT: (u8, u8, u8) = (0, 94, 99);

/// Draws on one page; coordinates are millimetres from the current card's
/// lower-left corner, y measured from the card's top edge (`top`).
struct Painter<'a> {
    fonts: &'a Fonts,
    ids: &'a [FontId],
    ops: Vec<Op>,
    /// The card's lower-left corner on the page, millimetres.
    ox: f32,
    oy: f32,
}

impl Painter<'_> {
    fn at(&mut self, ox: f32, oy: f32) {
        self.ox = ox;
        self.oy = oy;
    }

    fn pt(&self, x: f32, top: f32) -> Point {
        Point::new(Mm(self.ox + x), Mm(self.oy + CARD_HEIGHT_MM - top))
    }

    /// A filled rectangle; `top` is its upper edge from the card's top.
    fn fill(&mut self, x: f32, top: f32, w: f32, h: f32, color: Color) {
        self.ops.push(Op::SetFillColor { col: color });
        self.ops.push(Op::DrawRectangle {
            rectangle: Rect {
                x: Mm(self.ox + x).into_pt(),
                y: Mm(self.oy + CARD_HEIGHT_MM - top - h).into_pt(),
                width: Mm(w).into_pt(),
                height: Mm(h).into_pt(),
                mode: Some(PaintMode::Fill),
                winding_order: None,
            },
        });
    }

    /// Text with its baseline at `top`, starting at `x`; returns its width.
    fn text(&mut self, s: &str, bold: bool, size: f32, x: f32, top: f32, color: Color) -> f32 {
        let runs = shape(self.fonts, s, bold);
        self.ops.push(Op::StartTextSection);
        self.ops.push(Op::SetFillColor { col: color });
        let mut pen = x;
        for run in &runs {
            let deva = run.font >= 2;
            let p = self.pt(pen, top);
            self.ops.push(Op::SetFont { font: PdfFontHandle::External(self.ids[run.font].clone()), size: Pt(size) });
            self.ops.push(Op::SetTextMatrix { matrix: TextMatrix::Translate(p.x, p.y) });
            if deva {
                self.ops.push(actual_text(&run.text));
            }
            let mut items = Vec::new();
            if run.lead != 0.0 {
                items.push(TextItem::Offset(run.lead));
            }
            items.push(TextItem::GlyphIds(run.glyphs.clone()));
            self.ops.push(Op::ShowText { items });
            if deva {
                self.ops.push(Op::EndMarkedContent);
            }
            pen += run.advance / 1000.0 * size / PT_PER_MM;
        }
        self.ops.push(Op::EndTextSection);
        pen - x
    }

    /// Text shrunk to fit `max_w`.
    #[allow(clippy::too_many_arguments)]
    fn text_fit(&mut self, s: &str, bold: bool, size: f32, x: f32, top: f32, max_w: f32, color: Color) -> f32 {
        let w = width_of(&shape(self.fonts, s, bold), size);
        let size = if w > max_w { size * max_w / w * 0.999 } else { size };
        self.text(s, bold, size, x, top, color)
    }

    /// Word-wrapped text; returns the top of the next line.
    #[allow(clippy::too_many_arguments)]
    fn paragraph(&mut self, s: &str, bold: bool, size: f32, x: f32, mut top: f32, max_w: f32, leading: f32) -> f32 {
        let mut line = String::new();
        for word in s.split(' ') {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if !line.is_empty() && width_of(&shape(self.fonts, &candidate, bold), size) > max_w {
                self.text_fit(&line, bold, size, x, top, max_w, black());
                top += leading;
                line = word.to_string();
            } else {
                line = candidate;
            }
        }
        if !line.is_empty() {
            self.text_fit(&line, bold, size, x, top, max_w, black());
            top += leading;
        }
        top
    }

    fn line(&mut self, from: (f32, f32), to: (f32, f32), width_pt: f32) {
        self.ops.push(Op::SetOutlineColor { col: black() });
        self.ops.push(Op::SetOutlineThickness { pt: Pt(width_pt) });
        self.ops.push(Op::DrawLine {
            line: Line {
                points: vec![
                    LinePoint { p: self.pt(from.0, from.1), bezier: false },
                    LinePoint { p: self.pt(to.0, to.1), bezier: false },
                ],
                is_closed: false,
            },
        });
    }
}

/// `BDC /Span << /ActualText (text) >>`: what copying the run gives.
fn actual_text(text: &str) -> Op {
    let mut data = vec![0xFE, 0xFF];
    for u in text.encode_utf16() {
        data.extend_from_slice(&u.to_be_bytes());
    }
    let mut map = BTreeMap::new();
    map.insert("ActualText".to_string(), DictItem::String { data, literal: false });
    Op::BeginMarkedContentWithProperties { tag: "Span".to_string(), properties: DictItem::Dict { map } }
}

fn sex_label(sex: &str) -> &'static str {
    match sex {
        "male" => "Male / पुरुष",
        "female" => "Female / महिला",
        _ => "Other / अन्य",
    }
}

fn grouped_id(health_id: &str) -> String {
    let digits: Vec<char> = health_id.chars().filter(char::is_ascii_digit).collect();
    digits.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join(" ")
}

fn front(p: &mut Painter<'_>, card: &CardData, kind: CardKind) {
    let white = rgb(255, 255, 255);
    let (r, g, b) = ACCENT;
    // Header band: title and the card's kind.
    p.fill(0.0, 0.0, CARD_WIDTH_MM, 9.0, rgb(r, g, b));
    p.text_fit("eHealth Card / ई-हेल्थ कार्ड", true, 9.0, MARGIN_MM, 6.2, 50.0, white.clone());
    let marker = match kind {
        CardKind::Provisional => "PROVISIONAL / अस्थायी",
        CardKind::Permanent => "PERMANENT / स्थायी",
    };
    let mw = width_of(&shape(p.fonts, marker, true), 6.5) + 2.4;
    let mx = CARD_WIDTH_MM - MARGIN_MM - mw;
    let marker_bg = if kind == CardKind::Provisional { rgb(255, 214, 102) } else { rgb(255, 255, 255) };
    p.fill(mx, 2.2, mw, 4.8, marker_bg);
    p.text(marker, true, 6.5, mx + 1.2, 5.7, black());

    // Names: English, then Hindi.
    let mut top = 15.2;
    p.text_fit(&card.full_name(), true, NAME_PT, MARGIN_MM, top, TEXT_WIDTH_MM, black());
    if let Some(hi) = &card.name_hi {
        top += 6.2;
        p.text_fit(hi, true, NAME_PT, MARGIN_MM, top, TEXT_WIDTH_MM, black());
    }

    // The eHealth ID in large digits.
    let grey = rgb(80, 80, 80);
    p.text("eHealth ID / ई-हेल्थ आईडी", false, 5.5, MARGIN_MM, 25.3, grey.clone());
    p.text_fit(&grouped_id(&card.health_id), true, 15.0, MARGIN_MM, 31.6, TEXT_WIDTH_MM, rgb(r, g, b));

    // Date or year of birth, sex.
    let birth = match (&card.date_of_birth, card.birth_year) {
        (Some(d), _) => {
            let parts: Vec<&str> = d.split('-').collect();
            let shown = if parts.len() == 3 { format!("{}-{}-{}", parts[2], parts[1], parts[0]) } else { d.clone() };
            format!("DOB / जन्म तिथि: {shown}")
        }
        (None, Some(y)) => format!("Year of birth / जन्म वर्ष: {y}"),
        (None, None) => String::new(),
    };
    let half = TEXT_WIDTH_MM / 2.0;
    if !birth.is_empty() {
        p.text_fit(&birth, false, 6.5, MARGIN_MM, 37.0, half - 1.0, black());
    }
    if let Some(sex) = &card.sex {
        p.text_fit(&format!("Sex / लिंग: {}", sex_label(sex)), false, 6.5, MARGIN_MM + half, 37.0, half, black());
    }

    // Address.
    p.text("Address / पता", false, 5.5, MARGIN_MM, 41.6, grey);
    let mut top = 44.6;
    for line in card.address.iter().take(3) {
        p.text_fit(line, false, 6.2, MARGIN_MM, top, TEXT_WIDTH_MM, black());
        top += 2.9;
    }
    // A thin accent rule along the bottom edge.
    p.fill(0.0, CARD_HEIGHT_MM - 1.2, CARD_WIDTH_MM, 1.2, rgb(r, g, b));
}

/// Side of the QR area (quiet zone included) on the back, millimetres.
const QR_AREA_MM: f32 = 47.0;
const QUIET_MODULES: usize = 4;

/// The size of one QR module on the card, millimetres.
pub fn module_mm(qr: &QrMatrix) -> f32 {
    QR_AREA_MM / (qr.width + 2 * QUIET_MODULES) as f32
}

/// Where the QR area (quiet zone included) sits on the back: left edge and
/// top edge from the card's top-left corner, and its side, millimetres.
pub fn qr_area_on_back() -> (f32, f32, f32) {
    (2.0, (CARD_HEIGHT_MM - QR_AREA_MM) / 2.0, QR_AREA_MM)
}

fn back(p: &mut Painter<'_>, card: &CardData, qr: &QrMatrix) {
    let (ax, atop, _) = qr_area_on_back();
    let m = module_mm(qr);
    let x0 = ax + QUIET_MODULES as f32 * m;
    let y0 = atop + QUIET_MODULES as f32 * m;
    // One rectangle per horizontal run of dark modules.
    p.ops.push(Op::SetFillColor { col: black() });
    for row in 0..qr.width {
        let mut col = 0;
        while col < qr.width {
            if !qr.is_dark(col, row) {
                col += 1;
                continue;
            }
            let start = col;
            while col < qr.width && qr.is_dark(col, row) {
                col += 1;
            }
            p.ops.push(Op::DrawRectangle {
                rectangle: Rect {
                    x: Mm(p.ox + x0 + start as f32 * m).into_pt(),
                    y: Mm(p.oy + CARD_HEIGHT_MM - y0 - (row + 1) as f32 * m).into_pt(),
                    width: Mm((col - start) as f32 * m).into_pt(),
                    height: Mm(m).into_pt(),
                    mode: Some(PaintMode::Fill),
                    winding_order: None,
                },
            });
        }
    }

    // The right-hand column.
    let (r, g, b) = ACCENT;
    let x = ax + QR_AREA_MM + 1.0;
    let w = CARD_WIDTH_MM - x - 3.0;
    let grey = rgb(80, 80, 80);
    p.fill(CARD_WIDTH_MM - 1.2, 0.0, 1.2, CARD_HEIGHT_MM, rgb(r, g, b));
    p.text_fit(&grouped_id(&card.health_id), true, 8.0, x, 6.5, w, rgb(r, g, b));
    let mut top = 11.0;
    if let Some(c) = &card.clinical {
        let item = |p: &mut Painter<'_>, label: &str, value: &str, top: f32| -> f32 {
            p.text_fit(label, false, 5.0, x, top, w, grey.clone());
            p.paragraph(value, true, 6.0, x, top + 2.6, w, 2.6) + 0.9
        };
        if let Some(bg) = &c.blood_group {
            top = item(p, "Blood group / रक्त समूह", bg, top);
        }
        if !c.allergies.is_empty() {
            top = item(p, "Allergies / एलर्जी", &c.allergies.join(", "), top);
        }
        let contact = [c.emergency_name.as_deref(), c.emergency_phone.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if !contact.is_empty() {
            top = item(p, "Emergency contact / आपात संपर्क", &contact, top);
        }
    }
    let _ = top;
    // The signature line at the bottom of the column.
    p.paragraph("Digitally signed: scan the QR to verify.", false, 5.0, x, 45.0, w, 2.3);
    p.text_fit("डिजिटल हस्ताक्षरित: जाँच के लिए QR स्कैन करें।", false, 5.0, x, 48.4, w, grey);
}

fn cut_marks(p: &mut Painter<'_>) {
    let (gap, len) = (0.6, 2.0);
    for (cx, cy, sx, sy) in [
        (0.0, 0.0, -1.0, -1.0),
        (CARD_WIDTH_MM, 0.0, 1.0, -1.0),
        (0.0, CARD_HEIGHT_MM, -1.0, 1.0),
        (CARD_WIDTH_MM, CARD_HEIGHT_MM, 1.0, 1.0),
    ] {
        // cy is measured from the top here; sy = -1 points up (off the card).
        p.line((cx + sx * gap, cy), (cx + sx * (gap + len), cy), 0.25);
        p.line((cx, cy + sy * gap), (cx, cy + sy * (gap + len)), 0.25);
    }
}

/// The PDF for `cards` (each with its signed QR text and kind).
pub fn card_pdf(cards: &[(CardData, String, CardKind)], layout: Layout) -> Result<Vec<u8>, CardError> {
    let fonts = fonts()?;
    let qrs = cards.iter().map(|(_, text, _)| qr_modules(text)).collect::<Result<Vec<_>, _>>()?;
    let mut doc = PdfDocument::new("eHealth cards");
    let ids: Vec<FontId> = fonts.parsed.iter().map(|f| doc.add_font(f)).collect();
    let new_painter = || Painter { fonts, ids: &ids, ops: Vec::new(), ox: 0.0, oy: 0.0 };
    let mut pages = Vec::new();
    match layout {
        Layout::Id1 => {
            for ((card, _, kind), qr) in cards.iter().zip(&qrs) {
                let mut p = new_painter();
                front(&mut p, card, *kind);
                pages.push(PdfPage::new(Mm(CARD_WIDTH_MM), Mm(CARD_HEIGHT_MM), p.ops));
                let mut p = new_painter();
                back(&mut p, card, qr);
                pages.push(PdfPage::new(Mm(CARD_WIDTH_MM), Mm(CARD_HEIGHT_MM), p.ops));
            }
        }
        Layout::A4Sheet => {
            let per_sheet = SHEET_COLUMNS * SHEET_ROWS;
            for (chunk, chunk_qrs) in cards.chunks(per_sheet).zip(qrs.chunks(per_sheet)) {
                let mut fronts = new_painter();
                let mut backs = new_painter();
                for (slot, ((card, _, kind), qr)) in chunk.iter().zip(chunk_qrs).enumerate() {
                    let (x, y) = sheet_slot_origin(slot, false);
                    fronts.at(x, y);
                    front(&mut fronts, card, *kind);
                    cut_marks(&mut fronts);
                    let (x, y) = sheet_slot_origin(slot, true);
                    backs.at(x, y);
                    back(&mut backs, card, qr);
                    cut_marks(&mut backs);
                }
                pages.push(PdfPage::new(Mm(A4_WIDTH_MM), Mm(A4_HEIGHT_MM), fronts.ops));
                pages.push(PdfPage::new(Mm(A4_WIDTH_MM), Mm(A4_HEIGHT_MM), backs.ops));
            }
        }
    }
    let mut warnings = Vec::new();
    Ok(doc.with_pages(pages).save(&PdfSaveOptions::default(), &mut warnings))
}
