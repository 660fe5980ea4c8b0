//! End-to-end sync: the real `ehcard-server` binary on loopback, against
//! SQLite and against a throw-away PostgreSQL cluster, and real tablets
//! (the `ehcard` binary). Every test runs on both stores (`…::sqlite`,
//! `…::postgres`): this is the stores' conformance suite.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod cards;
mod console;
mod console_admin;
mod console_dashboard;
mod console_records;
mod console_review;
mod duplicates;
mod faults;
mod pg;
mod protocol;
mod roll;
mod staff;
mod support;
mod tls;

/// Run a test function against both stores.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::support::Backend::sqlite())
            }
            #[test]
            fn postgres() {
                super::$name($crate::support::Backend::postgres())
            }
        }
    };
}
