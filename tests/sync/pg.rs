//! Throw-away PostgreSQL cluster for the sync server's integration tests.
//!
//! [`PgCluster::start`] runs `initdb` into a fresh temporary directory, starts a
//! postmaster on a free `127.0.0.1` port with durability switched off (`fsync`,
//! `synchronous_commit`, `full_page_writes`) and trust authentication, and
//! creates the database `ehcard`. Dropping the value stops the server
//! (`pg_ctl stop -m immediate`) and deletes the directory.
//!
//! The PostgreSQL binaries come from `$EHCARD_PG_BIN` if set, otherwise from the
//! newest `/usr/lib/postgresql/*/bin` that contains `initdb`, otherwise from the
//! first `PATH` entry that contains `initdb`. `initdb` refuses to run as root,
//! so when the tests run as uid 0 the server-side commands (`initdb`, `pg_ctl`)
//! run as the `postgres` OS user through `su`.
//!
//! Only `std` and `tempfile` are used. Include it from a test with
//! `#[path = "support/pg.rs"] mod pg;` (or via a `support` module).
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// Environment variable naming the directory that holds `initdb`, `pg_ctl`, `psql`.
const BIN_ENV: &str = "EHCARD_PG_BIN";
/// OS user that owns the cluster when the tests run as root.
const OS_USER: &str = "postgres";
/// Database superuser created by `initdb -U`.
const SUPERUSER: &str = "postgres";
/// Database created by [`PgCluster::start`].
const DEFAULT_DB: &str = "ehcard";
/// How often `start` retries with a new port when the chosen one was taken.
const PORT_ATTEMPTS: u32 = 5;
/// Lines of the server log quoted in panic messages.
const LOG_TAIL_LINES: usize = 40;

/// A running, temporary PostgreSQL cluster. Stopped and deleted on drop.
pub struct PgCluster {
    /// Holds the cluster; removed (after the server is stopped) when dropped.
    dir: TempDir,
    /// `<dir>/data`, the `PGDATA` directory (created by `initdb`).
    data: PathBuf,
    /// Directory holding `initdb`, `pg_ctl`, `psql`.
    bin: PathBuf,
    port: u16,
    /// Whether server commands must be run as [`OS_USER`] via `su`.
    as_root: bool,
}

impl PgCluster {
    /// Start a new cluster; panics with a clear message if PostgreSQL is not installed.
    pub fn start() -> PgCluster {
        let bin = match find_bin_dir() {
            Ok(bin) => bin,
            Err(why) => panic!(
                "PgCluster: PostgreSQL is not installed or not found: {why}. Install the \
                 PostgreSQL server (e.g. `apt-get install postgresql`) or set {BIN_ENV} to \
                 the directory containing initdb, pg_ctl and psql."
            ),
        };
        assert!(bin.to_str().is_some(), "PgCluster: PostgreSQL bin dir {} is not valid UTF-8", bin.display());
        let as_root = is_root();

        let parent = temp_parent(as_root);
        let dir = tempfile::Builder::new()
            .prefix("ehcard-pg-")
            .tempdir_in(&parent)
            .unwrap_or_else(|e| panic!("PgCluster: cannot create a temp dir in {}: {e}", parent.display()));
        assert!(dir.path().to_str().is_some(), "PgCluster: temp dir {} is not valid UTF-8", dir.path().display());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("PgCluster: chmod 0755 {}: {e}", dir.path().display()));
        if as_root {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{OS_USER}:")).arg(dir.path());
            let desc = format!("chown -R {OS_USER}: {}", dir.path().display());
            if let Err(msg) = run(chown, &desc) {
                panic!("PgCluster: {msg}\n(is there a `{OS_USER}` OS user?)");
            }
        }

        let data = dir.path().join("data");
        let mut cluster = PgCluster { dir, data, bin, port: 0, as_root };
        // From here on a panic drops `cluster`, which stops anything that started.
        cluster.init_db();
        cluster.start_server();
        cluster.create_database(DEFAULT_DB);
        cluster
    }

    /// `postgres://postgres@127.0.0.1:PORT/ehcard`
    pub fn url(&self) -> String {
        self.url_for(DEFAULT_DB)
    }

    /// Create another empty database and return its URL (for tests that need isolation).
    ///
    /// `name` may contain ASCII letters, digits, `_` and `-` (at most 63 bytes);
    /// it is used verbatim (case-sensitive) as the database name.
    pub fn new_database(&self, name: &str) -> String {
        assert!(
            !name.is_empty()
                && name.len() <= 63
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "PgCluster::new_database: invalid database name {name:?} \
             (use 1-63 ASCII letters, digits, '_' or '-')"
        );
        self.create_database(name);
        self.url_for(name)
    }

    /// TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (`PGDATA`); the server log is `log` inside it.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    fn url_for(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    fn data_str(&self) -> String {
        self.data.to_string_lossy().into_owned()
    }

    fn log_path(&self) -> PathBuf {
        self.data.join("log")
    }

    /// A command running `bin/<program> args…`, as [`OS_USER`] when we are root.
    /// Returns the command and a printable description of it.
    fn server_cmd(&self, program: &str, args: &[&str]) -> (Command, String) {
        let program = self.bin.join(program).to_string_lossy().into_owned();
        let mut line = sh_quote(&program);
        for arg in args {
            line.push(' ');
            line.push_str(&sh_quote(arg));
        }
        let mut cmd;
        let desc;
        if self.as_root {
            cmd = Command::new("su");
            cmd.args([OS_USER, "-s", "/bin/sh", "-c", &line]);
            desc = format!("su {OS_USER} -s /bin/sh -c {}", sh_quote(&line));
        } else {
            cmd = Command::new(&program);
            cmd.args(args);
            desc = line;
        }
        // The caller's cwd may not be readable by the postgres user.
        cmd.current_dir(self.dir.path());
        (cmd, desc)
    }

    fn init_db(&self) {
        let data = self.data_str();
        let mut errors = Vec::new();
        for locale in ["C.UTF-8", "C"] {
            let locale_arg = format!("--locale={locale}");
            let args = ["-D", &data, "-A", "trust", "-U", SUPERUSER, "--no-sync", "-E", "UTF8", &locale_arg];
            let (cmd, desc) = self.server_cmd("initdb", &args);
            match run(cmd, &desc) {
                Ok(_) => return,
                Err(msg) => errors.push(msg),
            }
            // initdb normally cleans up after itself; make sure the retry starts empty.
            let _ = std::fs::remove_dir_all(&self.data);
        }
        panic!("PgCluster: initdb failed:\n{}", errors.join("\n\n"));
    }

    fn start_server(&mut self) {
        let data = self.data_str();
        let log = self.log_path().to_string_lossy().into_owned();
        let mut last_error = String::new();
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            // pg_ctl pastes -o into a /bin/sh command line, so quote the path there too.
            let opts = format!(
                "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                sh_quote(&data)
            );
            let args = ["-D", &data, "-l", &log, "-w", "-t", "60", "-o", &opts, "start"];
            let (cmd, desc) = self.server_cmd("pg_ctl", &args);
            match run(cmd, &desc) {
                Ok(_) => {
                    self.port = port;
                    return;
                }
                Err(msg) => {
                    let log_text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                    last_error = format!("{msg}{}", self.log_tail());
                    let port_taken = log_text.contains("already in use")
                        || log_text.contains("could not bind")
                        || log_text.contains("could not create any TCP/IP sockets");
                    if !port_taken || attempt == PORT_ATTEMPTS {
                        break;
                    }
                    // Make sure nothing is left running, then start over with a new log.
                    self.stop_quietly();
                    let _ = std::fs::remove_file(self.log_path());
                }
            }
        }
        panic!("PgCluster: could not start PostgreSQL: {last_error}");
    }

    fn create_database(&self, name: &str) {
        self.execute(&format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")));
    }

    /// Run one SQL statement as the superuser in the `postgres` database
    /// (CREATE or DROP DATABASE, CHECKPOINT); panics if it fails.
    pub fn execute(&self, sql: &str) {
        let port = self.port.to_string();
        let args = [
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-c",
            sql,
        ];
        // Authentication is `trust`, so psql can run as whoever we are.
        let psql = self.bin.join("psql");
        let mut cmd = Command::new(&psql);
        cmd.args(args).env("PGCONNECT_TIMEOUT", "10");
        let mut desc = sh_quote(&psql.to_string_lossy());
        for arg in args {
            desc.push(' ');
            desc.push_str(&sh_quote(arg));
        }
        if let Err(msg) = run(cmd, &desc) {
            panic!("PgCluster: {sql:?} failed: {msg}{}", self.log_tail());
        }
    }

    /// The last lines of the server log, formatted for a panic message ("" if none).
    fn log_tail(&self) -> String {
        let path = self.log_path();
        let Ok(bytes) = std::fs::read(&path) else {
            return String::new();
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
        format!("\n--- server log {} (last {} lines) ---\n{}", path.display(), tail.len(), tail.join("\n"))
    }

    /// Stop the server if a postmaster.pid exists; never panics.
    fn stop_quietly(&self) {
        let pid_file = self.data.join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        let data = self.data_str();
        let (cmd, desc) = self.server_cmd("pg_ctl", &["-D", &data, "-w", "-t", "30", "stop", "-m", "immediate"]);
        if run(cmd, &desc).is_ok() {
            return;
        }
        // pg_ctl failed (e.g. `su` broke): kill the postmaster directly.
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u32>().ok()));
        if let Some(pid) = pid.filter(|&p| p > 1) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Runs before the TempDir field is dropped, i.e. before the directory is removed.
        self.stop_quietly();
    }
}

/// Whether a PostgreSQL installation was found (tests may use it to print a skip
/// notice, but CI installs PostgreSQL, so normally tests just call `start()`).
pub fn available() -> bool {
    find_bin_dir().is_ok()
}

/// Directory containing `initdb` (see the module docs for the search order).
fn find_bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os(BIN_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return if dir.join("initdb").is_file() {
            Ok(dir)
        } else {
            Err(format!("{BIN_ENV}={} does not contain initdb", dir.display()))
        };
    }
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        for entry in entries.flatten() {
            let bin = entry.path().join("bin");
            if !bin.join("initdb").is_file() {
                continue;
            }
            let version: Vec<u32> =
                entry.file_name().to_string_lossy().split('.').map(|part| part.parse().unwrap_or(0)).collect();
            if best.as_ref().is_none_or(|(v, _)| version > *v) {
                best = Some((version, bin));
            }
        }
    }
    if let Some((_, bin)) = best {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|d| d.join("initdb").is_file()))
        .ok_or_else(|| format!("no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH, {BIN_ENV} not set"))
}

fn is_root() -> bool {
    // /proc/<pid> is owned by the process's effective uid (no `unsafe` geteuid needed).
    match std::fs::metadata("/proc/self") {
        Ok(meta) => meta.uid() == 0,
        Err(_) => Command::new("id")
            .arg("-u")
            .stdin(Stdio::null())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false),
    }
}

/// Where to create the cluster's temp dir: the system temp dir, unless it is too
/// deep for a Unix socket path (limit ~107 bytes) or, when root, not traversable
/// by the postgres user; then `/tmp`.
fn temp_parent(as_root: bool) -> PathBuf {
    let tmp = std::env::temp_dir();
    let too_long = tmp.as_os_str().len() > 60;
    let blocked = as_root
        && tmp.ancestors().any(|p| std::fs::metadata(p).map(|m| m.permissions().mode() & 0o001 == 0).unwrap_or(true));
    if too_long || blocked || tmp.to_str().is_none() { PathBuf::from("/tmp") } else { tmp }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("PgCluster: cannot bind 127.0.0.1:0 to pick a port");
    listener.local_addr().expect("PgCluster: local_addr of probe socket").port()
}

/// Quote `s` as a single /bin/sh word.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Run `cmd` to completion; on failure return a message with the command, its
/// exit status, stdout and stderr.
fn run(mut cmd: Command, desc: &str) -> Result<Output, String> {
    cmd.stdin(Stdio::null());
    let out = cmd.output().map_err(|e| format!("could not run `{desc}`: {e}"))?;
    if out.status.success() {
        return Ok(out);
    }
    Err(format!(
        "command failed: `{desc}`\nstatus: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    ))
}
