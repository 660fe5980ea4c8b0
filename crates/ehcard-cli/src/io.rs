//! What the command line reads from and shows to a person: passphrases,
//! the clock and randomness at the edge, progress bars.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ehcard_core::Entropy;
use indicatif::{ProgressBar, ProgressStyle};
use ring::rand::{SecureRandom, SystemRandom};

/// Randomness from the operating system.
pub struct OsEntropy(SystemRandom);

impl OsEntropy {
    pub fn new() -> Self {
        OsEntropy(SystemRandom::new())
    }
}

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        if self.0.fill(buf).is_err() {
            // The OS generator does not fail on supported platforms; if it
            // ever does, refuse to make ids from zeros.
            panic!("the operating system's random number generator failed");
        }
    }
}

/// The data directory: `--data`, or the platform's data directory.
pub fn data_dir(arg: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(d) = arg {
        return Ok(d);
    }
    let dirs = directories::ProjectDirs::from("in", "ehcard", "ehcard")
        .context("no home directory to keep data in: pass --data DIR")?;
    Ok(dirs.data_dir().to_path_buf())
}

/// The passphrase from `var`, or a prompt on the terminal.
pub fn passphrase(var: &str, prompt: &str) -> Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        bail!("no passphrase: set {var} or run ehcard in a terminal");
    }
    rpassword::prompt_password(prompt).context("could not read the passphrase from the terminal")
}

/// A new passphrase, typed twice on a terminal.
pub fn new_passphrase(var: &str) -> Result<String> {
    if let Ok(p) = std::env::var(var) {
        return Ok(p);
    }
    let first = passphrase(var, "New passphrase (at least 8 characters): ")?;
    let second = passphrase(var, "Type it again: ")?;
    if first != second {
        bail!("the two passphrases differ: nothing was changed, try again");
    }
    Ok(first)
}

/// Progress of long work: a bar on a terminal; with `EHCARD_PROGRESS=plain`,
/// one line per update on stderr (`progress importing 256/5000`) for
/// scripts and the app; nothing otherwise.
pub enum Progress {
    Bar(ProgressBar),
    Plain { what: String, len: u64, pos: u64 },
    Hidden,
}

impl Progress {
    pub fn set_position(&mut self, pos: u64) {
        match self {
            Progress::Bar(b) => b.set_position(pos),
            Progress::Plain { what, len, pos: p } => {
                *p = pos;
                eprintln!("progress {what} {pos}/{len}");
            }
            Progress::Hidden => {}
        }
    }

    pub fn set_length(&mut self, n: u64) {
        match self {
            Progress::Bar(b) => b.set_length(n),
            Progress::Plain { len, .. } => *len = n,
            Progress::Hidden => {}
        }
    }

    pub fn inc(&mut self, n: u64) {
        if let Progress::Bar(b) = self {
            b.inc(n);
        }
    }

    pub fn finish(self) {
        if let Progress::Bar(b) = self {
            b.finish_and_clear();
        }
    }
}

pub fn progress(len: u64, what: &str) -> Progress {
    if std::env::var("EHCARD_PROGRESS").is_ok_and(|v| v == "plain") {
        return Progress::Plain { what: what.to_string(), len, pos: 0 };
    }
    if !std::io::stderr().is_terminal() {
        return Progress::Hidden;
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg:10} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    Progress::Bar(bar)
}
