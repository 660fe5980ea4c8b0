//! Test helpers live in the test binaries.
