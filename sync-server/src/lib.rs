//! `ehcard-server`: the sync server and citywide registry.
//!
//! **Architecture invariant:** the server is stateless apart from its store.
//! Nothing is kept in memory that another instance must see (nonces, feed
//! positions, device state all live in the database), so several instances
//! can serve one PostgreSQL database behind a load balancer.

pub mod api;
pub mod console;
pub mod dedup;
pub mod metrics;
pub mod registry;
pub mod roll;
pub mod staff;
pub mod store;
