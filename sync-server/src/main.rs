//! `ehcard-server`: serve the sync API, manage tablets, print counts.

/// The allocator: building a roll import's documents on every core
/// allocates and frees small values from many threads, where the system
/// allocator's arenas contend (see ADR 5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ehcard_server::api::{self, AppState};
use ehcard_server::console::admin::tablets::{self, OsEntropy};
use ehcard_server::dedup;
use ehcard_server::roll;
use ehcard_server::store;
use ring::rand::SystemRandom;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "ehcard-server", version, about = "ehcard sync server and citywide registry")]
struct Args {
    /// Database: sqlite://PATH (default: registry.db in the platform data
    /// directory) or postgres://USER@HOST:PORT/DB.
    #[arg(long, global = true, env = "EHCARD_DB")]
    db: Option<String>,
    /// The registry's signing key (Ed25519 PKCS#8; made on first use, mode
    /// 0600). Default: registry-key.pk8 beside a SQLite database, or in the
    /// platform data directory.
    #[arg(long, global = true, env = "EHCARD_REGISTRY_KEY")]
    registry_key: Option<PathBuf>,
    /// The issuer named in trust lists and permanent cards.
    #[arg(long, global = true, env = "EHCARD_ISSUER", default_value = "https://ehcard.registry")]
    issuer: String,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, env = "EHCARD_LISTEN", default_value = "127.0.0.1:8480")]
        listen: SocketAddr,
        /// PEM certificate chain: serve HTTPS (with --tls-key).
        #[arg(long, env = "EHCARD_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for --tls-cert.
        #[arg(long, env = "EHCARD_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// The address tablets reach this server at (https://registry.example.in),
        /// put in the console's provisioning QR codes. Default: the listen
        /// address (none when it is 0.0.0.0 or [::]).
        #[arg(long, env = "EHCARD_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Create or update the database schema.
    Migrate,
    /// Tablets: add (prints a one-time provisioning code), list, revoke.
    Device {
        #[command(subcommand)]
        command: DeviceCmd,
    },
    /// Counts by ward and by device, and each device's last sync.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Print a resident's permanent card, signed by the registry key, to PDF.
    Card {
        /// The record id.
        id: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Load an electoral-roll or population-registry extract (CSV, see
    /// schema/roll-csv.md): each row an unverified resident, grouped into
    /// households by ward and house. All or nothing; re-importing the same
    /// file changes nothing; a newer extract updates rows that no field
    /// worker has confirmed yet.
    ImportRoll {
        /// The CSV file (UTF-8, with or without a byte-order mark).
        file: PathBuf,
        /// The extract's date, YYYY-MM-DD: ages count up to it (default: today).
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
        /// Only check the file: report bad rows, write nothing.
        #[arg(long)]
        check: bool,
        /// List at most this many bad rows (the rest are counted).
        #[arg(long, default_value_t = ehcard_server::roll::DEFAULT_MAX_ERRORS)]
        max_errors: usize,
        /// Secondary indexes: `auto` drops them and builds them again when
        /// the file is large against the registry (faster; on PostgreSQL,
        /// readers of residents and the feed wait until the import ends);
        /// `keep` inserts into them (the registry stays readable).
        #[arg(long, value_enum, default_value_t = roll::Indexes::Auto)]
        indexes: roll::Indexes,
        #[arg(long)]
        json: bool,
    },
    /// Staff accounts for the console: add, list, disable.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Candidate duplicates: pending pairs, best first, with score and reasons.
    Duplicates {
        /// Compare the whole registry again first (after a change of the
        /// matcher, or to catch up after a failure).
        #[arg(long)]
        rescan: bool,
        /// pending (default), merged, not_duplicate, superseded or all.
        #[arg(long, default_value = "pending")]
        status: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Merge a duplicate into the record that survives. Both histories are
    /// kept; fields the survivor lacks are taken, differing fields become
    /// conflicts to settle; the duplicate's eHealth ID resolves to the survivor.
    Merge {
        survivor: String,
        duplicate: String,
        /// Who decided (recorded in the audit log).
        #[arg(long, default_value = "admin")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// Record that two residents are different people.
    NotDuplicate {
        a: String,
        b: String,
        #[arg(long, default_value = "admin")]
        by: String,
    },
    /// Undo the merge of a duplicate (administrators): both records stand alone again.
    Unmerge {
        duplicate: String,
        #[arg(long, default_value = "admin")]
        by: String,
        #[arg(long)]
        json: bool,
    },
    /// The record an eHealth ID belongs to now (following merges).
    Resolve {
        health_id: String,
        #[arg(long)]
        json: bool,
    },
    /// The append-only audit log, newest first.
    Audit {
        /// Only entries about this record, device or file.
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// The signed trust list verifiers use offline (the same as GET /v1/trust-list).
    TrustList {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a staff account; the password comes from EHCARD_PASSWORD or a prompt.
    Add {
        name: String,
        /// admin (everything), reviewer (duplicates, conflicts, approval) or viewer (read only).
        #[arg(long)]
        role: String,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: it can no longer sign in.
    Disable { name: String },
}

#[derive(Subcommand)]
enum DeviceCmd {
    /// Add a tablet for these wards and print its one-time provisioning code.
    Add {
        /// Ward numbers, comma-separated (1-250).
        #[arg(long, value_delimiter = ',', required = true)]
        ward: Vec<u16>,
        #[arg(long)]
        label: String,
        /// Hours until the code expires.
        #[arg(long, default_value_t = 72)]
        expires_hours: i64,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a tablet: its requests are refused from now on.
    Revoke { id: String },
}

fn data_dir() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("in", "ehcard", "ehcard-server")
        .context("no home directory for the default database: pass --db URL")?;
    Ok(dirs.data_dir().to_path_buf())
}

fn default_db() -> Result<String> {
    Ok(format!("sqlite://{}", data_dir()?.join("registry.db").display()))
}

fn default_key_path(db_url: &str) -> Result<PathBuf> {
    if let Some(path) = db_url.strip_prefix("sqlite://")
        && let Some(dir) = std::path::Path::new(path).parent()
    {
        return Ok(dir.join("registry-key.pk8"));
    }
    Ok(data_dir()?.join("registry-key.pk8"))
}

fn when(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "ehcard_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();
    let url = match args.db {
        Some(u) => u,
        None => default_db()?,
    };
    let store = store::open(&url).await.with_context(|| format!("opening the registry database {}", redact(&url)))?;
    store.migrate().await.context("updating the database schema")?;
    let key_path = match args.registry_key {
        Some(p) => p,
        None => default_key_path(&url)?,
    };
    let now = chrono::Utc::now().timestamp();
    match args.command {
        Cmd::Migrate => println!("the schema of {} is up to date", redact(&url)),
        Cmd::Serve { listen, tls_cert, tls_key, public_url } => {
            let key = ehcard_server::registry::load_or_create(&key_path)?;
            let mut state = AppState::with_registry_key(store.clone(), key, &args.issuer);
            state.matcher = Some(dedup::spawn_matcher(store, state.clock.clone()));
            state.secure_cookies = tls_cert.is_some();
            state.public_url = tablets::public_url(public_url, listen, tls_cert.is_some())?.map(Arc::new);
            let app = api::router(state);
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| format!("loading {} and {}", cert.display(), key.display()))?;
                    eprintln!("ehcard-server listening on https://{listen} ({})", redact(&url));
                    axum_server::bind_rustls(listen, config)
                        .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                        .await?;
                }
                _ => {
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    eprintln!("ehcard-server listening on http://{} ({})", listener.local_addr()?, redact(&url));
                    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                        .with_graceful_shutdown(async {
                            let _ = tokio::signal::ctrl_c().await;
                        })
                        .await?;
                }
            }
        }
        Cmd::Device { command: DeviceCmd::Add { ward, label, expires_hours, json } } => {
            let new = tablets::NewTablet { label, wards: ward, code_hours: expires_hours.max(1) };
            let (d, code) = tablets::add_tablet(&store, new, "admin", "device_add", now).await?;
            let expires = d.code_expires_at.unwrap_or(now);
            if json {
                let v = serde_json::json!({"device": d, "code": code, "code_expires_at": expires});
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("device {} (number {}) for ward(s) {:?}: {}", d.id, d.number, d.wards, d.label);
                println!("one-time provisioning code: {code}");
                println!("it expires {} UTC; on the tablet run:", when(Some(expires)));
                println!("  ehcard init --server URL --code {code}");
            }
        }
        Cmd::Device { command: DeviceCmd::List { json } } => {
            let devices = store.devices().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&devices)?);
            } else {
                for d in devices {
                    println!(
                        "{:>5}  {:<24} wards {:<12} {:<22} last sync {}  {}",
                        d.number,
                        d.label,
                        format!("{:?}", d.wards),
                        d.status(),
                        when(d.last_sync_at),
                        d.id
                    );
                }
            }
        }
        Cmd::Device { command: DeviceCmd::Revoke { id } } => {
            let d = tablets::revoke_tablet(&store, &id, "admin", "device_revoke", now).await?;
            println!(
                "revoked device {} ({}) at {} UTC: its requests are refused from now on",
                d.number,
                d.label,
                when(d.revoked_at)
            );
        }
        Cmd::Card { id, out } => {
            use ehcard_card::pdf::{Layout, card_pdf};
            let key = ehcard_server::registry::load_or_create(&key_path)?;
            let (doc, _, _) = store.record(&id).await?.with_context(|| format!("no record {id} in the registry"))?;
            let record = ehcard_core::RecordDoc::load(&doc, &store::server_actor())?.read()?;
            let cards = ehcard_server::registry::permanent_cards(&[record], &key, &args.issuer, now)?;
            let pdf = card_pdf(&cards, Layout::Id1)?;
            let card = &cards.first().context("no card was made")?.0;
            std::fs::write(&out, pdf).with_context(|| format!("cannot write {}", out.display()))?;
            println!("printed the permanent card of {} ({}) to {}", card.full_name(), card.health_id, out.display());
        }
        Cmd::TrustList { json } => {
            let key = ehcard_server::registry::load_or_create(&key_path)?;
            let signed = ehcard_server::registry::trust_list(&store, &key, &args.issuer, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&signed)?);
            } else {
                let list = signed.open(&ehcard_server::registry::public_key(&key))?;
                println!(
                    "trust list of {} ({} keys), signed by registry key {}",
                    list.issuer,
                    list.entries.len(),
                    signed.kid
                );
                for e in &list.entries {
                    let state = match e.revoked_at {
                        Some(at) => format!("revoked {}", when(Some(at))),
                        None => "valid".into(),
                    };
                    println!("{}  {:<8} {:<40} from {}  {}", e.kid, e.role, e.who, when(Some(e.valid_from)), state);
                }
            }
        }
        Cmd::User { command } => user(&store, command, now).await?,
        Cmd::Duplicates { rescan, status, limit, json } => {
            duplicates(&store, rescan, &status, limit, json, now).await?;
        }
        Cmd::Merge { survivor, duplicate, by, json } => {
            let (survivor, duplicate) = (record_id(&survivor)?, record_id(&duplicate)?);
            let m = store.merge_records(&survivor, &duplicate, &by, now).await?;
            let (_, found) = dedup::drain(&store, now).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&m)?);
            } else {
                let c = &m.combination;
                println!("merged {duplicate} into {survivor} (merge {})", m.id);
                let list = |v: Vec<&String>| {
                    if v.is_empty() {
                        "-".to_string()
                    } else {
                        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    }
                };
                println!("  taken from the duplicate: {}", list(c.taken.iter().map(|(f, _)| f).collect()));
                println!("  in conflict, for a reviewer: {}", list(c.conflicting.iter().map(|(f, _, _)| f).collect()));
                println!(
                    "  tablets of both wards learn of it at their next sync; undo with `ehcard-server unmerge {duplicate}`"
                );
                if found > 0 {
                    println!("  {found} new candidate pair(s) for the merged record");
                }
            }
        }
        Cmd::NotDuplicate { a, b, by } => {
            let (a, b) = (record_id(&a)?, record_id(&b)?);
            store.not_duplicate(&a, &b, &by, now).await?;
            println!("recorded: {a} and {b} are different people");
        }
        Cmd::Unmerge { duplicate, by, json } => {
            let duplicate = record_id(&duplicate)?;
            let (m, left) = store.undo_merge(&duplicate, &by, now).await?;
            dedup::drain(&store, now).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"merge": m, "left_as_changed": left}))?
                );
            } else {
                println!("undid merge {}: {duplicate} stands alone again beside {}", m.id, m.survivor);
                if !left.is_empty() {
                    println!("  left as they are (changed since the merge): {}", left.join(", "));
                }
            }
        }
        Cmd::Resolve { health_id, json } => {
            let h: ehcard_core::HealthId =
                health_id.parse().map_err(|e| anyhow::anyhow!("{health_id:?} is not an eHealth ID: {e}"))?;
            let (record, current) = store
                .resolve_health_id(&h.compact())
                .await?
                .with_context(|| format!("no resident has eHealth ID {h}"))?;
            if json {
                let v = serde_json::json!({"health_id": h.to_string(), "record_id": record, "current_id": current});
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if record == current {
                println!("eHealth ID {h} is record {record}");
            } else {
                println!("eHealth ID {h} was record {record}, merged into {current}");
            }
        }
        Cmd::Audit { subject, limit, json } => {
            let log = store.audit_log(subject, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&log)?);
            } else {
                for e in log {
                    println!(
                        "{:>6} {} UTC  {:<14} {:<24} {}  {}",
                        e.seq,
                        when(Some(e.at)),
                        e.action,
                        e.actor,
                        e.subject,
                        e.detail
                    );
                }
            }
        }
        Cmd::ImportRoll { file, as_of, check, max_errors, indexes, json } => {
            import_roll(&store, &file, as_of, check, max_errors, indexes, json).await?;
        }
        Cmd::Stats { json } => {
            let s = store.stats().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "residents {}  households {}  with conflicts {}  feed entries {}",
                    s.residents, s.households, s.with_conflicts, s.feed_entries
                );
                for (w, n) in &s.residents_by_ward {
                    println!("ward {w:<4} {n}");
                }
                for d in &s.devices {
                    println!(
                        "device {:>5} {:<24} {:<22} records {:<6} last sync {}",
                        d.number,
                        d.label,
                        d.status,
                        d.records_last_changed,
                        when(d.last_sync_at)
                    );
                }
            }
        }
    }
    Ok(())
}

/// Progress on stderr: a bar on a terminal; with `EHCARD_PROGRESS=plain`,
/// one line per update (`progress building 4096/40000`), as the tablet CLI
/// does; nothing otherwise.
fn progress() -> Option<roll::ProgressFn> {
    if std::env::var("EHCARD_PROGRESS").is_ok_and(|v| v == "plain") {
        return Some(Arc::new(|stage: &str, done: u64, total: u64| eprintln!("progress {stage} {done}/{total}")));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(Arc::new(move |stage: &str, done: u64, total: u64| {
        if stage == "done" {
            bar.finish_and_clear();
            return;
        }
        if bar.message() != stage {
            bar.set_message(stage.to_string());
            bar.reset();
        }
        bar.set_length(total);
        bar.set_position(done);
    }))
}

async fn import_roll(
    store: &store::DynStore,
    file: &std::path::Path,
    as_of: Option<chrono::NaiveDate>,
    check: bool,
    max_errors: usize,
    indexes: roll::Indexes,
    json: bool,
) -> Result<()> {
    let started = std::time::Instant::now();
    let data = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let now = chrono::Utc::now();
    let today = now.date_naive();
    let as_of = as_of.unwrap_or(today);
    if as_of > today {
        bail!("--as-of {as_of} is in the future");
    }
    let lines = data.iter().filter(|b| **b == b'\n').count().saturating_sub(1) as u64;
    let progress = progress();
    let options = roll::ParseOptions { as_of, today, max_errors };
    let parsed = roll::parse(&data, &options, &|n| {
        if let Some(p) = &progress {
            p("checking", n.min(lines), lines);
        }
    })
    .with_context(|| format!("{}: nothing was imported", file.display()))?;
    for c in &parsed.ignored_columns {
        eprintln!("{}: column {c:?} is not a roll column; it is ignored", file.display());
    }
    if parsed.bad_rows > 0 {
        for e in &parsed.errors {
            eprintln!("{}: {e}", file.display());
        }
        let listed: std::collections::BTreeSet<u64> = parsed.errors.iter().map(|e| e.line).collect();
        if parsed.bad_rows > listed.len() {
            eprintln!("… and {} more bad rows (--max-errors lists more)", parsed.bad_rows - listed.len());
        }
        if json {
            let v = serde_json::json!({"imported": false, "bad_rows": parsed.bad_rows, "errors": parsed.errors});
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        bail!(
            "{} of {} rows in {} are bad: nothing was imported; correct them and import the file again",
            parsed.bad_rows,
            parsed.rows.len() + parsed.bad_rows,
            file.display()
        );
    }
    let rows = parsed.rows.len() as u64;
    if check {
        if json {
            let seconds = started.elapsed().as_secs_f64();
            let v = serde_json::json!({
                "checked": true, "rows": rows, "seconds": seconds,
                "rows_per_sec": (rows as f64 / seconds.max(1e-9)).round(),
            });
            println!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            println!("{}: {rows} rows, all good (checked only: nothing was imported)", file.display());
        }
        return Ok(());
    }
    let entropy = Box::new(OsEntropy(SystemRandom::new()));
    let result =
        store.import_roll(parsed.rows, roll::ImportOptions { now, entropy, progress: progress.clone(), indexes }).await;
    if let Some(p) = &progress {
        p("done", 0, 0);
    }
    let summary = result.with_context(|| format!("importing {}: nothing was imported", file.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let matching = std::time::Instant::now();
    let (_, pairs) = ehcard_server::dedup::drain_bulk(store, now.timestamp())
        .await
        .context("the roll was imported, but finding duplicates failed: run `ehcard-server duplicates --rescan`")?;
    store
        .audit(ehcard_server::dedup::NewAudit {
            at: now.timestamp(),
            actor: "admin".into(),
            action: "import_roll".into(),
            subject: file.display().to_string(),
            detail: serde_json::json!({"summary": summary, "new_duplicate_pairs": pairs}),
        })
        .await?;
    store.settle().await;
    let rate = rows as f64 / seconds.max(1e-9);
    if json {
        let mut v = serde_json::to_value(&summary)?;
        v["seconds"] = serde_json::json!(seconds);
        v["new_duplicate_pairs"] = serde_json::json!(pairs);
        v["rows_per_sec"] = serde_json::json!(rate.round());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let s = &summary;
        println!(
            "imported {}: {} rows: {} added, {} updated, {} unchanged, {} kept (confirmed in the field)",
            file.display(),
            s.rows,
            s.added,
            s.updated,
            s.unchanged,
            s.kept
        );
        println!("households: {} added, {} updated", s.households_added, s.households_updated);
        if s.missing > 0 {
            println!("{} rows imported before are not in this file (left alone)", s.missing);
        }
        println!("{} feed entries for the wards' tablets; {seconds:.1} s, {rate:.0} rows/s", s.feed_entries);
        println!(
            "{pairs} new candidate duplicate pair(s) ({:.1} s): see `ehcard-server duplicates`",
            matching.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// A database URL without its password, for messages and logs.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A record id given on the command line.
fn record_id(s: &str) -> Result<String> {
    let id: ehcard_core::RecordId =
        s.trim().parse().map_err(|_| anyhow::anyhow!("{s:?} is not a record id (a UUID such as 0190d5b0-…)"))?;
    Ok(id.to_string())
}

async fn duplicates(
    store: &store::DynStore,
    rescan: bool,
    status: &str,
    limit: u32,
    json: bool,
    now: i64,
) -> Result<()> {
    const STATUSES: &[&str] = &["pending", "merged", "not_duplicate", "superseded", "all"];
    if !STATUSES.contains(&status) {
        bail!("--status must be one of: {}", STATUSES.join(", "));
    }
    let (compared, added) = dedup::drain(store, now).await?;
    if compared > 0 {
        eprintln!("compared {compared} newly written resident(s) with the registry: {added} new pair(s)");
    }
    if rescan {
        let started = std::time::Instant::now();
        let (found, added) = dedup::rescan(store, now).await?;
        eprintln!(
            "compared the registry in {:.1} s: {found} candidate pair(s), {added} new",
            started.elapsed().as_secs_f64()
        );
    }
    let filter = (status != "all").then(|| status.to_string());
    let pairs = store.pairs(filter, limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&pairs)?);
        return Ok(());
    }
    if pairs.is_empty() {
        println!("no {status} pairs");
        return Ok(());
    }
    let mut ids: Vec<String> = pairs.iter().flat_map(|p| [p.a.clone(), p.b.clone()]).collect();
    ids.sort();
    ids.dedup();
    let people: std::collections::HashMap<String, ehcard_match::Person> =
        store.people(ids).await?.into_iter().map(|p| (p.id.clone(), p)).collect();
    let describe = |id: &str| match people.get(id) {
        Some(p) => format!(
            "{} {}  born {}  ward {}",
            p.given_name,
            p.family_name.as_deref().unwrap_or(""),
            p.date_of_birth.clone().or(p.birth_year.map(|y| y.to_string())).unwrap_or_else(|| "?".into()),
            p.ward.map(|w| w.to_string()).unwrap_or_default()
        ),
        None => "(merged away)".into(),
    };
    for p in pairs {
        println!("score {:.2}  {}", p.score, p.status);
        println!("  {}  {}", p.a, describe(&p.a));
        println!("  {}  {}", p.b, describe(&p.b));
        for r in &p.reasons {
            println!("    - {}", r.detail);
        }
    }
    Ok(())
}

/// A new staff password: EHCARD_PASSWORD, or typed twice at a prompt.
fn new_password() -> Result<String> {
    if let Ok(p) = std::env::var("EHCARD_PASSWORD") {
        return Ok(p);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!("no password: set EHCARD_PASSWORD, or run this on a terminal to be asked for one");
    }
    let first = rpassword::prompt_password("password for the new account: ")?;
    let again = rpassword::prompt_password("the same password again: ")?;
    if first != again {
        bail!("the two passwords differ; nothing was changed");
    }
    Ok(first)
}

async fn user(store: &store::DynStore, command: UserCmd, now: i64) -> Result<()> {
    use ehcard_server::console::admin::accounts;
    use ehcard_server::staff::{self, Role};
    match command {
        UserCmd::Add { name, role } => {
            let role = Role::parse(&role).with_context(|| format!("--role {role:?}: use admin, reviewer or viewer"))?;
            staff::check_name(&name)?;
            let s = accounts::add_account(store, &name, role, &new_password()?, "admin", "user_add", now).await?;
            println!("added staff account {} ({})", s.name, s.role.as_str());
        }
        UserCmd::List { json } => {
            let list = store.staff_list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for s in list {
                    let state = if s.disabled_at.is_some() {
                        format!("disabled {}", when(s.disabled_at))
                    } else {
                        "active".into()
                    };
                    println!("{:<24} {:<9} created {}  {state}", s.name, s.role.as_str(), when(Some(s.created_at)));
                }
            }
        }
        UserCmd::Disable { name } => {
            let s = accounts::disable_account(store, &name, "admin", "user_disable", now).await?;
            println!("disabled staff account {}: it can no longer sign in", s.name);
        }
    }
    Ok(())
}
