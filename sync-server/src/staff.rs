//! Staff accounts for the registry console: names, roles, and passwords
//! hashed with Argon2id (memory-hard; the PHC string carries its own salt
//! and parameters, so they can be raised later without a migration).

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including tablets, accounts and undoing merges.
    Admin,
    /// Resolve duplicates and conflicts, approve records.
    Reviewer,
    /// Read only.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Reviewer => "reviewer",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "reviewer" => Some(Role::Reviewer),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// A staff account as the registry keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Staff {
    pub name: String,
    pub role: Role,
    #[serde(skip)]
    pub password_hash: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// Why an account cannot be made as asked.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StaffError {
    #[error("a staff name is 3 to 40 letters, digits, dots, dashes or underscores")]
    BadName,
    #[error("the password must have at least {0} characters")]
    WeakPassword(usize),
    #[error("the system random number generator failed")]
    Random,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub const MIN_PASSWORD: usize = 12;

pub fn check_name(name: &str) -> Result<(), StaffError> {
    let ok = (3..=40).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok { Ok(()) } else { Err(StaffError::BadName) }
}

/// An Argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, StaffError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(StaffError::WeakPassword(MIN_PASSWORD));
    }
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).map_err(|_| StaffError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StaffError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StaffError::Hash(e.to_string()))
}

/// Whether `password` is the one `hash` was made from. A damaged hash
/// verifies nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_and_a_wrong_one_does_not() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains("correct horse"));
        assert!(verify_password(&h, "correct horse battery"));
        assert!(!verify_password(&h, "correct horse batterY"));
        assert!(!verify_password("not a hash", "correct horse battery"));
        // Two hashes of one password differ (fresh salts).
        assert_ne!(h, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn short_passwords_and_odd_names_are_refused() {
        assert_eq!(hash_password("short"), Err(StaffError::WeakPassword(MIN_PASSWORD)));
        assert!(check_name("asha.reviewer").is_ok());
        for bad in ["ab", "has space", "<script>", "x".repeat(41).as_str()] {
            assert_eq!(check_name(bad), Err(StaffError::BadName), "{bad}");
        }
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }
}
