//! End-to-end tests of the `ehcard` binary on real files: one module per
//! concern. They run the binary in the same target directory, so build it
//! first (`cargo build --workspace --bins`; `scripts/test.sh` does).

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod crash;
mod duplicates;
mod import;
mod support;
mod walkthrough;
