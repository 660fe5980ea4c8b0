//! `ehcard-server`: serve the sync API, manage tablets, print counts.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ehcard_core::Entropy;
use ehcard_server::api::{self, AppState, code_hash};
use ehcard_server::store::{self, NewDevice};
use ring::rand::{SecureRandom, SystemRandom};

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
    /// The signed trust list verifiers use offline (the same as GET /v1/trust-list).
    TrustList {
        #[arg(long)]
        json: bool,
    },
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

struct OsEntropy(SystemRandom);

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if self.0.fill(buf).is_err() {
            panic!("the operating system's random number generator failed");
        }
    }
}

/// 16 characters of Crockford base32 in groups of four: about 80 bits.
fn new_code() -> Result<String> {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).map_err(|_| anyhow::anyhow!("random number generator failed"))?;
    let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[(*b as usize) % 32] as char).collect();
    Ok(chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-"))
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
        Cmd::Serve { listen, tls_cert, tls_key } => {
            let key = ehcard_server::registry::load_or_create(&key_path)?;
            let app = api::router(AppState::with_registry_key(store, key, &args.issuer));
            match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => {
                    let _ = rustls::crypto::ring::default_provider().install_default();
                    let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                        .await
                        .with_context(|| format!("loading {} and {}", cert.display(), key.display()))?;
                    eprintln!("ehcard-server listening on https://{listen} ({})", redact(&url));
                    axum_server::bind_rustls(listen, config).serve(app.into_make_service()).await?;
                }
                _ => {
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .with_context(|| format!("cannot listen on {listen}"))?;
                    eprintln!("ehcard-server listening on http://{} ({})", listener.local_addr()?, redact(&url));
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = tokio::signal::ctrl_c().await;
                        })
                        .await?;
                }
            }
        }
        Cmd::Device { command: DeviceCmd::Add { ward, label, expires_hours, json } } => {
            if let Some(bad) = ward.iter().find(|w| !(1..=250).contains(*w)) {
                bail!("ward {bad} is not a ward number (1-250)");
            }
            if label.trim().is_empty() {
                bail!("--label must not be empty");
            }
            let code = new_code()?;
            let id = ehcard_core::RecordId::new_v7((now * 1000) as u64, &mut OsEntropy(SystemRandom::new()));
            let expires = now + expires_hours.max(1) * 3600;
            let mut wards = ward;
            wards.sort_unstable();
            wards.dedup();
            let d = store
                .add_device(NewDevice {
                    id: id.to_string(),
                    label: label.trim().to_string(),
                    wards,
                    code_hash: code_hash(&code),
                    code_expires_at: expires,
                    now,
                })
                .await?;
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
            let d = store.revoke_device(&id, now).await?;
            println!(
                "revoked device {} ({}) at {} UTC: its requests are refused from now on",
                d.number,
                d.label,
                when(d.revoked_at)
            );
        }
        Cmd::Card { id, out } => {
            use ehcard_card::pdf::{Layout, card_pdf};
            use ehcard_card::{CardData, CardKind, Issue, key_id, payload};
            let key = ehcard_server::registry::load_or_create(&key_path)?;
            let (doc, _, _) = store.record(&id).await?.with_context(|| format!("no record {id} in the registry"))?;
            let record = ehcard_core::RecordDoc::load(&doc, &store::server_actor())?.read()?;
            let card = CardData::from_record(&record)?;
            let issue =
                Issue { issuer: args.issuer.clone(), kind: CardKind::Permanent, issued_at: now, expires_at: None };
            let public = ehcard_server::registry::public_key(&key);
            let text = payload::encode(&card, &issue, &key_id(&public), &key)?;
            let pdf = card_pdf(&[(card.clone(), text, CardKind::Permanent)], Layout::Id1)?;
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
