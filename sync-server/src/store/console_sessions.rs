//! Console sessions and sign-in throttling, in the database so that every
//! server instance sees them (the server keeps no state of its own).

use rusqlite::{OptionalExtension, params};

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use super::{StoreError, staff_role};
use crate::staff::Staff;

/// A signed-in staff member's session as stored (the token only as its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub staff: String,
    pub csrf: String,
    pub created_at: i64,
    pub last_seen: i64,
    pub expires_at: i64,
}

/// Failed sign-ins counted since some moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub by_name: i64,
    pub by_client: i64,
    /// The oldest failure counted (for "try again after …").
    pub oldest: Option<i64>,
}

#[async_trait::async_trait]
pub trait SessionStore {
    async fn create_session(&self, session: Session) -> Result<(), StoreError>;
    /// The live session with this token hash and its (enabled) account:
    /// none if it ended (`expires_at`), went idle (`last_seen` before
    /// `idle_since`), or its account was disabled. A live session's
    /// `last_seen` becomes `now`.
    async fn session(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<Option<(Session, Staff)>, StoreError>;
    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError>;
    /// End every session of an account (disabled, or its password changed).
    async fn end_sessions_of(&self, staff: &str) -> Result<u64, StoreError>;
    async fn login_failed(&self, name: &str, client: &str, at: i64) -> Result<(), StoreError>;
    /// Failures since `since` for this name and for this client.
    async fn login_failures(&self, name: &str, client: &str, since: i64) -> Result<Failures, StoreError>;
    /// A successful sign-in forgets the name's failures; very old failures
    /// (before `forget_before`) are dropped.
    async fn login_succeeded(&self, name: &str, forget_before: i64) -> Result<(), StoreError>;
}

fn staff_of(
    name: String,
    role: String,
    hash: String,
    created: i64,
    disabled: Option<i64>,
) -> Result<Staff, StoreError> {
    Ok(Staff { name, role: staff_role(&role)?, password_hash: hash, created_at: created, disabled_at: disabled })
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, s: Session) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO console_sessions(token_hash, staff, csrf, created_at, last_seen, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![s.token_hash, s.staff, s.csrf, s.created_at, s.last_seen, s.expires_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn session(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<Option<(Session, Staff)>, StoreError> {
        let token_hash = token_hash.to_string();
        self.run(move |conn| {
            let row = conn
                .query_row(
                    "SELECT s.token_hash, s.staff, s.csrf, s.created_at, s.last_seen, s.expires_at,
                            t.role, t.password_hash, t.created_at, t.disabled_at
                     FROM console_sessions s JOIN staff t ON t.name = s.staff
                     WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.last_seen >= ?3 AND t.disabled_at IS NULL",
                    params![token_hash, now, idle_since],
                    |r| {
                        Ok((
                            Session {
                                token_hash: r.get(0)?,
                                staff: r.get(1)?,
                                csrf: r.get(2)?,
                                created_at: r.get(3)?,
                                last_seen: r.get(4)?,
                                expires_at: r.get(5)?,
                            },
                            (r.get::<_, String>(6)?, r.get::<_, String>(7)?, r.get::<_, i64>(8)?, r.get(9)?),
                        ))
                    },
                )
                .optional()?;
            let Some((mut session, (role, hash, created, disabled))) = row else { return Ok(None) };
            // Touch at most once a minute: a page view is not worth a write.
            if now - session.last_seen >= 60 {
                conn.execute(
                    "UPDATE console_sessions SET last_seen = ?2 WHERE token_hash = ?1",
                    params![token_hash, now],
                )?;
                session.last_seen = now;
            }
            let staff = staff_of(session.staff.clone(), role, hash, created, disabled)?;
            Ok(Some((session, staff)))
        })
        .await
    }

    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let token_hash = token_hash.to_string();
        self.run(move |conn| {
            conn.execute("DELETE FROM console_sessions WHERE token_hash = ?1", [token_hash])?;
            Ok(())
        })
        .await
    }

    async fn end_sessions_of(&self, staff: &str) -> Result<u64, StoreError> {
        let staff = staff.to_string();
        self.run(move |conn| Ok(conn.execute("DELETE FROM console_sessions WHERE staff = ?1", [staff])? as u64)).await
    }

    async fn login_failed(&self, name: &str, client: &str, at: i64) -> Result<(), StoreError> {
        let (name, client) = (name.to_string(), client.to_string());
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO login_failures(name, client, at) VALUES (?1, ?2, ?3)",
                params![name, client, at],
            )?;
            Ok(())
        })
        .await
    }

    async fn login_failures(&self, name: &str, client: &str, since: i64) -> Result<Failures, StoreError> {
        let (name, client) = (name.to_string(), client.to_string());
        self.run(move |conn| {
            let (by_name, oldest_name): (i64, Option<i64>) = conn.query_row(
                "SELECT count(*), min(at) FROM login_failures WHERE name = ?1 AND at >= ?2",
                params![name, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let (by_client, oldest_client): (i64, Option<i64>) = conn.query_row(
                "SELECT count(*), min(at) FROM login_failures WHERE client = ?1 AND at >= ?2",
                params![client, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(Failures { by_name, by_client, oldest: oldest_name.into_iter().chain(oldest_client).min() })
        })
        .await
    }

    async fn login_succeeded(&self, name: &str, forget_before: i64) -> Result<(), StoreError> {
        let name = name.to_string();
        self.run(move |conn| {
            conn.execute("DELETE FROM login_failures WHERE name = ?1 OR at < ?2", params![name, forget_before])?;
            conn.execute("DELETE FROM console_sessions WHERE expires_at < ?1", [forget_before])?;
            Ok(())
        })
        .await
    }
}

#[async_trait::async_trait]
impl SessionStore for PgStore {
    async fn create_session(&self, s: Session) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute(
                "INSERT INTO console_sessions(token_hash, staff, csrf, created_at, last_seen, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[&s.token_hash, &s.staff, &s.csrf, &s.created_at, &s.last_seen, &s.expires_at],
            )
            .await?;
        Ok(())
    }

    async fn session(
        &self,
        token_hash: &str,
        now: i64,
        idle_since: i64,
    ) -> Result<Option<(Session, Staff)>, StoreError> {
        let client = self.pool.get().await?;
        let Some(r) = client
            .query_opt(
                "SELECT s.token_hash, s.staff, s.csrf, s.created_at, s.last_seen, s.expires_at,
                        t.role, t.password_hash, t.created_at, t.disabled_at
                 FROM console_sessions s JOIN staff t ON t.name = s.staff
                 WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen >= $3 AND t.disabled_at IS NULL",
                &[&token_hash, &now, &idle_since],
            )
            .await?
        else {
            return Ok(None);
        };
        let mut session = Session {
            token_hash: r.get(0),
            staff: r.get(1),
            csrf: r.get(2),
            created_at: r.get(3),
            last_seen: r.get(4),
            expires_at: r.get(5),
        };
        if now - session.last_seen >= 60 {
            client
                .execute("UPDATE console_sessions SET last_seen = $2 WHERE token_hash = $1", &[&token_hash, &now])
                .await?;
            session.last_seen = now;
        }
        let staff = staff_of(session.staff.clone(), r.get(6), r.get(7), r.get(8), r.get(9))?;
        Ok(Some((session, staff)))
    }

    async fn end_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("DELETE FROM console_sessions WHERE token_hash = $1", &[&token_hash]).await?;
        Ok(())
    }

    async fn end_sessions_of(&self, staff: &str) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        Ok(client.execute("DELETE FROM console_sessions WHERE staff = $1", &[&staff]).await?)
    }

    async fn login_failed(&self, name: &str, client_addr: &str, at: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client
            .execute("INSERT INTO login_failures(name, client, at) VALUES ($1, $2, $3)", &[&name, &client_addr, &at])
            .await?;
        Ok(())
    }

    async fn login_failures(&self, name: &str, client_addr: &str, since: i64) -> Result<Failures, StoreError> {
        let client = self.pool.get().await?;
        let a = client
            .query_one("SELECT count(*), min(at) FROM login_failures WHERE name = $1 AND at >= $2", &[&name, &since])
            .await?;
        let b = client
            .query_one(
                "SELECT count(*), min(at) FROM login_failures WHERE client = $1 AND at >= $2",
                &[&client_addr, &since],
            )
            .await?;
        let (oldest_name, oldest_client): (Option<i64>, Option<i64>) = (a.get(1), b.get(1));
        Ok(Failures {
            by_name: a.get(0),
            by_client: b.get(0),
            oldest: oldest_name.into_iter().chain(oldest_client).min(),
        })
    }

    async fn login_succeeded(&self, name: &str, forget_before: i64) -> Result<(), StoreError> {
        let client = self.pool.get().await?;
        client.execute("DELETE FROM login_failures WHERE name = $1 OR at < $2", &[&name, &forget_before]).await?;
        client.execute("DELETE FROM console_sessions WHERE expires_at < $1", &[&forget_before]).await?;
        Ok(())
    }
}
