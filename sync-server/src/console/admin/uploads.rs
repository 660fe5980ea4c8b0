//! Electoral-roll uploads: the file is streamed to a temporary file, then
//! checked and imported by a background job whose state (phase, rows done,
//! errors, summary) is in the database (`roll_jobs`), so any server
//! instance can show it. The job page refreshes itself until the job ends.
//! As on the command line, a file with bad rows imports nothing, and the
//! same file imported twice changes nothing the second time.
//!
//! A job's server writes a heartbeat every second. A job that was running
//! on a server that stopped shows as interrupted: on its own server at
//! once (the job is no longer in [`ACTIVE`]), elsewhere once its heartbeat
//! is [`STALE_SECONDS`] old.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{Markup, html};
use ring::digest::{Context, SHA256};
use ring::rand::SystemRandom;

use super::tablets::OsEntropy;
use crate::api::AppState;
use crate::console::layout::{self, Lang, Nav, fmt_count, fmt_time, url_encode};
use crate::console::{ConsoleError, Ctx};
use crate::dedup::NewAudit;
use crate::roll::{self, ImportOptions, ParseOptions};
use crate::store::console_admin::{JobRowError, NewRollJob, RollJob, RollJobEnd};

/// The biggest upload: a whole city's extract is some hundreds of MB.
pub const MAX_UPLOAD: usize = 1 << 30;
/// A running job whose heartbeat is older than this, on another server, was interrupted.
pub const STALE_SECONDS: i64 = 60;
/// Recent jobs listed on the pages.
const RECENT: u32 = 10;

/// This server process, as named in the jobs it runs.
fn instance() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| crate::console::auth::random_token().unwrap_or_else(|_| format!("pid-{}", std::process::id())))
}

/// The jobs this process is running now (only to tell its own jobs'
/// state at once; other instances go by the heartbeat).
static ACTIVE: Mutex<Option<HashSet<i64>>> = Mutex::new(None);

fn set_active(id: i64, on: bool) {
    if let Ok(mut g) = ACTIVE.lock() {
        let set = g.get_or_insert_with(HashSet::new);
        if on {
            set.insert(id);
        } else {
            set.remove(&id);
        }
    }
}

/// The jobs this process is running, taken BEFORE reading job rows: a job
/// that ends in between then reads as ended, never as interrupted.
pub fn active_jobs() -> HashSet<i64> {
    ACTIVE.lock().map(|g| g.clone().unwrap_or_default()).unwrap_or_default()
}

/// Takes a job off [`ACTIVE`] however its task ends.
struct ActiveGuard(i64);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        set_active(self.0, false);
    }
}

/// A job's state as shown: `running`, `interrupted`, `rejected`, `failed` or
/// `done`. `active`: [`active_jobs`] taken before the row was read.
pub fn shown_state<'a>(job: &'a RollJob, now: i64, active: &HashSet<i64>) -> &'a str {
    if job.state != "running" {
        return &job.state;
    }
    let alive =
        if job.instance == instance() { active.contains(&job.id) } else { now - job.heartbeat_at <= STALE_SECONDS };
    if alive { "running" } else { "interrupted" }
}

fn state_badge(lang: Lang, state: &str) -> Markup {
    let (class, text) = match state {
        "running" => ("warn", lang.t("running", "चल रहा है")),
        "done" => ("ok", lang.t("imported", "आयात हुआ")),
        "rejected" => ("bad", lang.t("bad rows: nothing imported", "गलत पंक्तियाँ: कुछ आयात नहीं हुआ")),
        "interrupted" => ("bad", lang.t("interrupted: nothing imported", "बीच में रुका: कुछ आयात नहीं हुआ")),
        _ => ("bad", lang.t("failed: nothing imported", "विफल: कुछ आयात नहीं हुआ")),
    };
    html! { span class=(format!("badge {class}")) data-state=(state) { (text) } }
}

fn phase_label(lang: Lang, phase: &str) -> &'static str {
    match phase {
        "checking" => lang.t("checking rows", "पंक्तियाँ जाँची जा रही हैं"),
        "building" => lang.t("preparing records", "रिकॉर्ड तैयार हो रहे हैं"),
        // The import's stages after checking (`import_roll`'s progress).
        "writing" | "indexing" | "documents" | "recording" | "committing" => {
            lang.t("writing to the registry", "रजिस्ट्री में लिखा जा रहा है")
        }
        "matching" => lang.t("looking for duplicates", "डुप्लिकेट खोजे जा रहे हैं"),
        _ => lang.t("finished", "पूरा हुआ"),
    }
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    }
}

fn jobs_table(ctx: &Ctx, jobs: &[RollJob], active: &HashSet<i64>) -> Markup {
    html! {
        @if jobs.is_empty() {
            p.muted { (ctx.t("No uploads yet.", "अभी तक कोई अपलोड नहीं।")) }
        } @else {
            table.jobs {
                thead { tr {
                    th { (ctx.t("Uploaded", "अपलोड")) }
                    th { (ctx.t("File", "फ़ाइल")) }
                    th { (ctx.t("By", "किसने")) }
                    th.num { (ctx.t("Rows", "पंक्तियाँ")) }
                    th { (ctx.t("Result", "नतीजा")) }
                } }
                tbody {
                    @for j in jobs {
                        tr {
                            td { a href=(format!("/console/roll/jobs/{}", j.id)) { (fmt_time(j.created_at)) } }
                            td { (j.file_name) " " span.muted { "(" (size_text(j.file_bytes)) ")" } }
                            td { (j.uploaded_by) }
                            td.num { (fmt_count(j.total_rows)) }
                            td { (state_badge(ctx.lang, shown_state(j, ctx.now, active))) }
                        }
                    }
                }
            }
        }
    }
}

/// GET /console/roll: the upload form and recent uploads.
pub async fn page(State(state): State<AppState>, ctx: Ctx) -> Result<Markup, ConsoleError> {
    let active = active_jobs();
    let jobs = state.store.roll_jobs(RECENT).await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let action = format!("/console/roll?csrf={}", url_encode(ctx.csrf()));
    let body = html! {
        p { (ctx.t(
            "Upload an electoral-roll or population-registry extract (CSV, one row a person; see schema/roll-csv.md). Every row is checked first: if any row is wrong, nothing is imported and the bad rows are listed. New people become unverified residents of their ward's household list; rows already imported and unchanged change nothing, so uploading the same file again is safe. Records a field worker has confirmed keep the worker's values.",
            "मतदाता सूची या जनसंख्या रजिस्टर का अंश अपलोड करें (CSV, हर पंक्ति एक व्यक्ति; schema/roll-csv.md देखें)। पहले हर पंक्ति जाँची जाती है: कोई भी पंक्ति गलत हो तो कुछ भी आयात नहीं होता और गलत पंक्तियाँ दिखाई जाती हैं। नए लोग अपने वार्ड की घरों की सूची में अपुष्ट निवासी बनते हैं; पहले से आयात और बिना बदलाव वाली पंक्तियाँ कुछ नहीं बदलतीं, इसलिए वही फ़ाइल दोबारा अपलोड करना सुरक्षित है। जिन रिकॉर्ड की पुष्टि फ़ील्ड कर्मी कर चुके हैं, उनमें कर्मी के मान बने रहते हैं।"
        )) }
        form.stack.upload method="post" action=(action) enctype="multipart/form-data" data-upload
            data-upload-failed=(ctx.t("The upload failed: check the connection and try again.", "अपलोड विफल: कनेक्शन जाँचें और फिर कोशिश करें।")) {
            label for="file" { (ctx.t("Roll file (CSV, up to 1 GB)", "सूची फ़ाइल (CSV, 1 GB तक)")) }
            input #file name="file" type="file" accept=".csv,text/csv" required;
            label for="as_of" { (ctx.t("Date of the extract (ages count up to it; default today)", "अंश की तारीख (उम्र इसी तक गिनी जाती है; न दें तो आज)")) }
            input #as_of name="as_of" type="date";
            div.progress aria-hidden="true" { span {} }
            p.muted data-progress-label aria-live="polite" {}
            button.primary type="submit" { (ctx.t("Upload and import", "अपलोड और आयात करें")) }
        }
        h2 { (ctx.t("Recent uploads", "हाल के अपलोड")) }
        (jobs_table(&ctx, &jobs, &active))
    };
    Ok(layout::page(&ctx, Nav::Roll, ctx.t("Roll import", "मतदाता सूची आयात"), body))
}

/// Chunks of an upload, written to a temporary file off the async threads.
struct Spool {
    path: PathBuf,
    tx: Option<tokio::sync::mpsc::Sender<Bytes>>,
    writer: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    sha: Context,
    bytes: i64,
}

impl Spool {
    fn create() -> std::io::Result<Spool> {
        let token = crate::console::auth::random_token().map_err(|e| std::io::Error::other(e.to_string()))?;
        let path = std::env::temp_dir().join(format!("ehcard-roll-{}.csv", &token[..16]));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(16);
        let writer = tokio::task::spawn_blocking(move || {
            while let Some(chunk) = rx.blocking_recv() {
                file.write_all(&chunk)?;
            }
            file.sync_all()
        });
        Ok(Spool { path, tx: Some(tx), writer: Some(writer), sha: Context::new(&SHA256), bytes: 0 })
    }

    async fn write(&mut self, chunk: Bytes) -> Result<(), ()> {
        self.sha.update(&chunk);
        self.bytes += chunk.len() as i64;
        match &self.tx {
            Some(tx) => tx.send(chunk).await.map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Close the file; its size and SHA-256.
    async fn finish(mut self) -> Result<(PathBuf, i64, String), ()> {
        self.tx = None;
        let ok = match self.writer.take() {
            Some(w) => matches!(w.await, Ok(Ok(()))),
            None => false,
        };
        let path = std::mem::take(&mut self.path);
        if !ok {
            let _ = std::fs::remove_file(&path);
            return Err(());
        }
        Ok((path, self.bytes, hex::encode(self.sha.clone().finish())))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        // Not finished (the upload failed): leave nothing behind.
        if !self.path.as_os_str().is_empty() {
            self.tx = None;
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The name a file was uploaded with, without any folders, for display.
fn clean_name(name: Option<&str>) -> String {
    let n = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("").trim();
    let n: String = n.chars().filter(|c| !c.is_control()).take(120).collect();
    if n.is_empty() { "roll.csv".into() } else { n }
}

/// POST /console/roll: receive the file and start its job.
pub async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ConsoleError> {
    let cut = || {
        ConsoleError::bad(
            &ctx,
            ctx.t(
                "The upload did not arrive whole (cut off, or bigger than 1 GB). Nothing was imported: try again.",
                "अपलोड पूरा नहीं पहुँचा (बीच में कटा, या 1 GB से बड़ा)। कुछ आयात नहीं हुआ: फिर कोशिश करें।",
            ),
        )
    };
    let no_file =
        || ConsoleError::bad(&ctx, ctx.t("Choose a roll file (CSV) to upload.", "अपलोड करने के लिए सूची फ़ाइल (CSV) चुनें।"));
    let mut multipart = multipart.map_err(|_| no_file())?;
    let mut as_of_text = String::new();
    let mut received: Option<(String, PathBuf, i64, String)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return Err(cut()),
        };
        match field.name() {
            Some("as_of") => {
                as_of_text = field.text().await.map_err(|_| cut())?.trim().chars().take(20).collect();
            }
            Some("file") if received.is_none() => {
                let name = clean_name(field.file_name());
                let mut field = field;
                let mut spool = Spool::create().map_err(|e| {
                    ConsoleError::store(&ctx, crate::store::StoreError::Database(format!("temporary file: {e}")))
                })?;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => spool.write(chunk).await.map_err(|_| cut())?,
                        Ok(None) => break,
                        Err(_) => return Err(cut()),
                    }
                }
                let (path, bytes, sha) = spool.finish().await.map_err(|_| cut())?;
                received = Some((name, path, bytes, sha));
            }
            _ => {}
        }
    }
    let Some((file_name, path, bytes, sha)) = received else { return Err(no_file()) };
    let remove = |p: &PathBuf| {
        let _ = std::fs::remove_file(p);
    };
    if bytes == 0 {
        remove(&path);
        return Err(ConsoleError::bad(
            &ctx,
            ctx.t("The file is empty. Nothing was imported.", "फ़ाइल खाली है। कुछ आयात नहीं हुआ।"),
        ));
    }
    let today = chrono::DateTime::from_timestamp(ctx.now, 0).unwrap_or_default().date_naive();
    let as_of = if as_of_text.is_empty() {
        today
    } else {
        match NaiveDate::parse_from_str(&as_of_text, "%Y-%m-%d") {
            Ok(d) if d <= today => d,
            _ => {
                remove(&path);
                return Err(ConsoleError::bad(
                    &ctx,
                    ctx.t(
                        "The date of the extract must be a date (YYYY-MM-DD), not in the future. Nothing was imported.",
                        "अंश की तारीख एक सही तारीख (YYYY-MM-DD) होनी चाहिए, भविष्य की नहीं। कुछ आयात नहीं हुआ।",
                    ),
                ));
            }
        }
    };
    let job = NewRollJob {
        file_name: file_name.clone(),
        file_bytes: bytes,
        file_sha256: sha.clone(),
        as_of: as_of.to_string(),
        uploaded_by: ctx.staff.name.clone(),
        instance: instance().to_string(),
        now: ctx.now,
    };
    let id = match state.store.create_roll_job(job).await {
        Ok(id) => id,
        Err(e) => {
            remove(&path);
            return Err(ConsoleError::store(&ctx, e));
        }
    };
    let audited = state
        .store
        .audit(NewAudit {
            at: ctx.now,
            actor: ctx.staff.name.clone(),
            action: "console.roll_upload".into(),
            subject: file_name.clone(),
            detail: serde_json::json!({"job": id, "bytes": bytes, "sha256": sha, "as_of": as_of.to_string()}),
        })
        .await;
    if let Err(e) = audited {
        remove(&path);
        let end = failed_end(format!("the audit log could not be written: {e}"), ctx.now);
        let _ = state.store.finish_roll_job(id, end).await;
        return Err(ConsoleError::store(&ctx, e));
    }
    set_active(id, true);
    let job = Job { state: state.clone(), id, path, as_of, actor: ctx.staff.name.clone(), file_name, sha };
    tokio::spawn(job.run());
    Ok(Redirect::to(&format!("/console/roll/jobs/{id}")).into_response())
}

fn failed_end(message: String, now: i64) -> RollJobEnd {
    RollJobEnd {
        state: "failed".into(),
        total_rows: 0,
        bad_rows: 0,
        errors: Vec::new(),
        message: Some(message),
        summary: None,
        now,
    }
}

/// Where a job is: phase, rows done, rows in all.
type Progress = Arc<Mutex<(String, i64, i64)>>;

fn report(p: &Progress, phase: &str, done: u64, total: u64) {
    if let Ok(mut g) = p.lock() {
        *g = (phase.to_string(), done as i64, total as i64);
    }
}

/// A background import.
struct Job {
    state: AppState,
    id: i64,
    path: PathBuf,
    as_of: NaiveDate,
    actor: String,
    file_name: String,
    sha: String,
}

impl Job {
    async fn run(self) {
        let _active = ActiveGuard(self.id);
        let store = self.state.store.clone();
        let clock = self.state.clock.clone();
        let progress: Progress = Arc::new(Mutex::new(("checking".into(), 0, 0)));
        let ticker = {
            let (store, clock, progress, id) = (store.clone(), clock.clone(), progress.clone(), self.id);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    let (phase, done, total) = progress.lock().map(|g| g.clone()).unwrap_or_default();
                    if let Err(e) = store.roll_job_progress(id, &phase, done, total, clock()).await {
                        tracing::warn!(job = id, "roll job progress: {e}");
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let end = self.work(&progress, started).await;
        ticker.abort();
        let _ = std::fs::remove_file(&self.path);
        let now = clock();
        let detail = serde_json::json!({
            "job": self.id, "sha256": self.sha, "result": end.state, "rows": end.total_rows,
            "bad_rows": end.bad_rows, "summary": end.summary, "message": end.message,
        });
        if let Err(e) = store.finish_roll_job(self.id, end).await {
            tracing::error!(job = self.id, "roll job: {e}");
        }
        let audit = NewAudit {
            at: now,
            actor: self.actor.clone(),
            action: "console.roll_import".into(),
            subject: self.file_name.clone(),
            detail,
        };
        if let Err(e) = store.audit(audit).await {
            tracing::error!(job = self.id, "roll job audit: {e}");
        }
    }

    async fn work(&self, progress: &Progress, started: std::time::Instant) -> RollJobEnd {
        let now = || (self.state.clock)();
        let path = self.path.clone();
        let data = match tokio::task::spawn_blocking(move || std::fs::read(path)).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => return failed_end(format!("the uploaded file could not be read back: {e}"), now()),
            Err(e) => return failed_end(format!("worker: {e}"), now()),
        };
        let lines = data.iter().filter(|b| **b == b'\n').count().saturating_sub(1) as u64;
        report(progress, "checking", 0, lines);
        let today = chrono::DateTime::from_timestamp(now(), 0).unwrap_or_default().date_naive();
        let options = ParseOptions { as_of: self.as_of, today, max_errors: roll::DEFAULT_MAX_ERRORS };
        let p = progress.clone();
        let parsed = tokio::task::spawn_blocking(move || {
            roll::parse(&data, &options, &|n| report(&p, "checking", n.min(lines), lines))
        })
        .await;
        let parsed = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return failed_end(format!("the file could not be read as a roll: {e}"), now()),
            Err(e) => return failed_end(format!("worker: {e}"), now()),
        };
        let total = (parsed.rows.len() + parsed.bad_rows) as i64;
        if parsed.bad_rows > 0 {
            return RollJobEnd {
                state: "rejected".into(),
                total_rows: total,
                bad_rows: parsed.bad_rows as i64,
                errors: parsed
                    .errors
                    .into_iter()
                    .map(|e| JobRowError { line: e.line, column: e.column, value: e.value, message: e.message })
                    .collect(),
                message: None,
                summary: None,
                now: now(),
            };
        }
        let rows = parsed.rows.len() as u64;
        report(progress, "building", 0, rows);
        let p = progress.clone();
        let options = ImportOptions {
            now: chrono::DateTime::from_timestamp(now(), 0).unwrap_or_default(),
            entropy: Box::new(OsEntropy(SystemRandom::new())),
            progress: Some(Arc::new(move |stage: &str, done: u64, total: u64| report(&p, stage, done, total))),
            // The registry stays readable while an upload imports (the
            // console's pages, tablets' pulls): bulk loads are for the CLI.
            indexes: roll::Indexes::Keep,
        };
        let summary = match self.state.store.import_roll(parsed.rows, options).await {
            Ok(s) => s,
            Err(e) => return failed_end(format!("the import failed, nothing was imported: {e}"), now()),
        };
        let seconds = started.elapsed().as_secs_f64();
        report(progress, "matching", rows, rows);
        let mut summary_json = serde_json::to_value(&summary).unwrap_or_default();
        summary_json["seconds"] = serde_json::json!((seconds * 10.0).round() / 10.0);
        summary_json["ignored_columns"] = serde_json::json!(parsed.ignored_columns);
        match &self.state.matcher {
            // The server's matcher compares the new residents in the background.
            Some(m) => m.notify_one(),
            None => match crate::dedup::drain_bulk(&self.state.store, now()).await {
                Ok((_, pairs)) => summary_json["new_duplicate_pairs"] = serde_json::json!(pairs),
                Err(e) => tracing::error!(job = self.id, "matching after a roll import: {e}"),
            },
        }
        RollJobEnd {
            state: "done".into(),
            total_rows: total,
            bad_rows: 0,
            errors: Vec::new(),
            message: None,
            summary: Some(summary_json),
            now: now(),
        }
    }
}

/// GET /console/roll/jobs/{id}: a job's progress, then its errors or summary.
pub async fn job(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Result<Response, ConsoleError> {
    let missing = || ConsoleError::not_found(&ctx, ctx.t("There is no such upload.", "ऐसा कोई अपलोड नहीं है।"));
    let id: i64 = id.parse().map_err(|_| missing())?;
    let active = active_jobs();
    let job = state.store.roll_job(id).await.map_err(|e| ConsoleError::store(&ctx, e))?.ok_or_else(missing)?;
    let jobs = state.store.roll_jobs(RECENT).await.map_err(|e| ConsoleError::store(&ctx, e))?;
    let shown = shown_state(&job, ctx.now, &active);
    let running = shown == "running";
    let n = |key: &str| job.summary.as_ref().and_then(|s| s[key].as_i64()).unwrap_or(0);
    let listed: HashSet<u64> = job.errors.iter().map(|e| e.line).collect();
    let body = html! {
        @if running {
            meta http-equiv="refresh" content="2";
        }
        dl.facts {
            dt { (ctx.t("File", "फ़ाइल")) } dd { (job.file_name) " " span.muted { "(" (size_text(job.file_bytes)) ")" } }
            dt { (ctx.t("Uploaded", "अपलोड")) } dd { (fmt_time(job.created_at)) " · " (job.uploaded_by) }
            dt { (ctx.t("Extract date", "अंश की तारीख")) } dd { (job.as_of) }
            dt { (ctx.t("Result", "नतीजा")) } dd #job-state { (state_badge(ctx.lang, shown)) }
            dt { "SHA-256" } dd { code.hash { (job.file_sha256) } }
        }
        @if running {
            p role="status" { (phase_label(ctx.lang, &job.phase)) ": " (fmt_count(job.done_rows)) " / " (fmt_count(job.total_rows)) }
            progress.job value=(job.done_rows) max=(job.total_rows.max(1)) {}
            p.muted { (ctx.t("This page refreshes itself every 2 seconds. You can leave it: the import goes on.",
                             "यह पेज हर 2 सेकंड में अपने आप ताज़ा होता है। आप इसे छोड़ सकते हैं: आयात चलता रहेगा।")) }
        }
        @match shown {
            "rejected" => {
                p.error role="alert" {
                    (fmt_count(job.bad_rows)) " " (ctx.t("of", "/")) " " (fmt_count(job.total_rows)) " "
                    (ctx.t("rows are wrong, so nothing was imported. Correct them in the file and upload it again.",
                           "पंक्तियाँ गलत हैं, इसलिए कुछ भी आयात नहीं हुआ। फ़ाइल में इन्हें ठीक करें और फिर अपलोड करें।"))
                }
                table.row-errors {
                    thead { tr {
                        th.num { (ctx.t("Line", "पंक्ति")) }
                        th { (ctx.t("Column", "कॉलम")) }
                        th { (ctx.t("Value", "मान")) }
                        th { (ctx.t("What is wrong", "क्या गलत है")) }
                    } }
                    tbody {
                        @for e in &job.errors {
                            tr { td.num { (e.line) } td { code { (e.column) } } td { (e.value) } td { (e.message) } }
                        }
                    }
                }
                @if job.bad_rows as usize > listed.len() {
                    p.muted { "… " (fmt_count(job.bad_rows - listed.len() as i64)) " "
                        (ctx.t("more bad rows are not listed.", "और गलत पंक्तियाँ यहाँ नहीं दिखाई गईं।")) }
                }
            }
            "done" => {
                p.notice role="status" {
                    (ctx.t("Imported", "आयात हुआ")) ": " (fmt_count(n("rows"))) " " (ctx.t("rows", "पंक्तियाँ"))
                    @if let Some(s) = job.summary.as_ref().and_then(|s| s["seconds"].as_f64()) {
                        " " (ctx.t("in", "समय:")) " " (format!("{s:.1}")) " s"
                    }
                    "."
                }
                div.cards {
                    @for (key, en, hi) in [
                        ("added", "new residents", "नए निवासी"),
                        ("updated", "updated", "अपडेट हुए"),
                        ("unchanged", "unchanged", "बिना बदलाव"),
                        ("kept", "kept (confirmed in the field)", "रखे गए (फ़ील्ड में पुष्ट)"),
                        ("households_added", "new households", "नए परिवार"),
                        ("households_updated", "households updated", "परिवार अपडेट हुए"),
                    ] {
                        div.card data-figure=(key) { span.figure { (fmt_count(n(key))) } " " span.label { (ctx.t(en, hi)) } }
                    }
                }
                @if n("missing") > 0 {
                    p.muted { (fmt_count(n("missing"))) " " (ctx.t("people imported before are not in this file; they were left as they are.",
                        "पहले आयात हुए लोग इस फ़ाइल में नहीं हैं; उन्हें जैसा था वैसा छोड़ा गया।")) }
                }
                @if let Some(p) = job.summary.as_ref().and_then(|s| s["new_duplicate_pairs"].as_i64()) {
                    p { (fmt_count(p)) " " (ctx.t("new possible duplicates", "नए संभावित डुप्लिकेट")) " · "
                        a href="/console/duplicates" { (ctx.t("review them", "उनकी समीक्षा करें")) } }
                }
                p { a href="/console/search" { (ctx.t("Search the registry", "रजिस्ट्री में खोजें")) } }
            }
            "interrupted" => {
                p.error role="alert" { (ctx.t(
                    "The server stopped while this file was being imported. The import is all or nothing, so nothing was imported: upload the file again.",
                    "इस फ़ाइल के आयात के दौरान सर्वर रुक गया। आयात पूरा या कुछ नहीं होता है, इसलिए कुछ आयात नहीं हुआ: फ़ाइल फिर से अपलोड करें।"
                )) }
            }
            "failed" => {
                p.error role="alert" {
                    (ctx.t("The import failed and nothing was imported:", "आयात विफल हुआ और कुछ आयात नहीं हुआ:")) " "
                    (job.message.as_deref().unwrap_or(""))
                }
            }
            _ => {}
        }
        p { a.button href="/console/roll" { (ctx.t("Upload another file", "दूसरी फ़ाइल अपलोड करें")) } }
        h2 { (ctx.t("Recent uploads", "हाल के अपलोड")) }
        (jobs_table(&ctx, &jobs, &active))
    };
    let title = format!("{} #{}", ctx.t("Roll upload", "सूची अपलोड"), job.id);
    Ok(layout::page(&ctx, Nav::Roll, &title, body).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_of_a_running_import_reads_as_running() {
        let finished = phase_label(Lang::En, "finished");
        for stage in ["checking", "building", "writing", "indexing", "documents", "recording", "committing", "matching"]
        {
            assert_ne!(phase_label(Lang::En, stage), finished, "{stage}");
            assert_ne!(phase_label(Lang::Hi, stage), phase_label(Lang::Hi, "finished"), "{stage}");
        }
    }
}
