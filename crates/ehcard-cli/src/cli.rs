//! Command-line arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ehcard_core::Lang;

#[derive(Debug, Parser)]
#[command(name = "ehcard", version, about = "ehcard: offline enrollment for the QR eHealth Card", long_about = None)]
pub struct Args {
    /// Data directory (default: the platform's data directory for ehcard).
    #[arg(long, global = true, env = "EHCARD_DATA")]
    pub data: Option<PathBuf>,
    /// Language of messages: en or hi.
    #[arg(long, global = true, env = "EHCARD_LANG", default_value = "en", value_parser = parse_lang)]
    pub lang: Lang,
    /// Who is working (recorded with every change).
    #[arg(long, global = true, env = "EHCARD_WORKER")]
    pub worker: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What `ehcard mark` records.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MarkStatus {
    Moved,
    Deceased,
    NotFound,
}

impl MarkStatus {
    pub fn as_status(self) -> &'static str {
        match self {
            MarkStatus::Moved => "moved",
            MarkStatus::Deceased => "deceased",
            MarkStatus::NotFound => "not_found",
        }
    }
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the encrypted store on this device (asks for a new passphrase,
    /// or reads EHCARD_PASSPHRASE).
    Init {
        /// Device number assigned by the registry (0 = standalone device).
        #[arg(long, default_value_t = 0)]
        device_number: u32,
        /// A label for this device, e.g. "Ward 12 tablet 3".
        #[arg(long, default_value = "standalone")]
        label: String,
        /// Provision against this sync server (with --code).
        #[arg(long, requires = "code", conflicts_with = "device_number")]
        server: Option<String>,
        /// The one-time provisioning code from the administrator.
        #[arg(long, requires = "server")]
        code: Option<String>,
        /// PEM certificate to trust for the server (a private registry's CA).
        #[arg(long, requires = "server")]
        ca: Option<PathBuf>,
    },
    /// Send this tablet's changes to the server and take in its wards'
    /// changes from other tablets.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// Change the passphrase (EHCARD_PASSPHRASE is the old one and
    /// EHCARD_NEW_PASSPHRASE the new one when not on a terminal).
    Passwd,
    /// Enroll one resident (or household) from JSON given as an argument or on stdin.
    Enroll {
        /// The record, record format v1; `-` or absent reads stdin.
        json: Option<String>,
        /// Make a household record instead of a resident.
        #[arg(long)]
        household: bool,
        /// Print the stored record as JSON.
        #[arg(long)]
        json_out: bool,
        /// Save even though it looks like these residents (record ids or
        /// eHealth IDs): the worker checked, and they are other people.
        #[arg(long = "not-duplicate-of", value_name = "ID", num_args = 1..)]
        not_duplicate_of: Vec<String>,
    },
    /// Confirm a resident (from the electoral roll) as verified at the door.
    Confirm {
        /// Record id or eHealth ID.
        id: String,
    },
    /// Record that a resident was not found as listed.
    Mark {
        /// Record id or eHealth ID.
        id: String,
        #[arg(value_enum)]
        status: MarkStatus,
    },
    /// The members of one household, with their status.
    Household {
        /// Household record id.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Import many records from a JSON Lines file, all or nothing.
    Import {
        file: PathBuf,
        /// Import the valid lines and write the rejected ones, with their
        /// errors, to this file.
        #[arg(long, value_name = "FILE")]
        skip_invalid: Option<PathBuf>,
    },
    /// Change fields: `--set path=value`, `--set allergies+=Dust`,
    /// `--set allergies-=Dust`; an empty value clears the field.
    Edit {
        /// Record id or eHealth ID.
        id: String,
        #[arg(long = "set", value_name = "PATH=VALUE", required = true)]
        sets: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show a record.
    Show {
        /// Record id or eHealth ID.
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Search residents by name (English or Devanagari, prefix), voter id,
    /// phone or eHealth ID.
    Search {
        text: Vec<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// List households.
    Households {
        #[arg(long)]
        ward: Option<i64>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 500)]
        limit: usize,
    },
    /// Counts of what this device holds.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Write every record as JSON Lines (households first); `-` is stdout.
    Export { file: PathBuf },
    /// Rebuild the query tables from the record documents.
    Reindex,
    /// Print a resident's provisional card (signed by this tablet) to PDF.
    Card {
        /// Record id or eHealth ID.
        id: String,
        #[arg(long)]
        out: PathBuf,
        /// An A4 sheet (ten-up, with cut marks) instead of an ID-1 card.
        #[arg(long)]
        a4: bool,
    },
    /// Print many cards on A4 sheets of ten.
    Cards {
        /// Every resident of this ward.
        #[arg(long, conflicts_with = "ids")]
        ward: Option<i64>,
        /// A file of record ids or eHealth IDs, one a line.
        #[arg(long)]
        ids: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a card offline: a photo or scan (PNG, JPEG), a PDF, or the QR text.
    /// Exit code 0 only for a valid card.
    Verify {
        input: String,
        /// A trust list file (from `ehcard-server trust-list --json`);
        /// default: the one kept from the last sync.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The registry's public key (hex), when this device was never provisioned.
        #[arg(long)]
        registry_key: Option<String>,
        #[arg(long)]
        json: bool,
    },
}
