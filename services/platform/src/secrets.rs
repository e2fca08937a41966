//! Passwords and PINs at rest: argon2id hashes in PHC string form
//! (`$argon2id$v=19$...`). The rules for what a password or PIN may be live
//! in the domain; this is only the hashing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
#[error("could not hash the secret: {0}")]
pub struct HashError(String);

pub fn hash(secret: &str) -> Result<String, HashError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `secret` matches `stored`; an unreadable hash never matches.
pub fn verify(secret: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(h) => Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks `secret` against `stored`, or against a throwaway hash when there
/// is none, so an unknown account answers as slowly as a wrong secret.
pub fn verify_or_waste_time(secret: &str, stored: Option<&str>) -> bool {
    match stored {
        Some(s) => verify(secret, s),
        None => {
            let _ = hash(secret);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_secret_only() {
        let h = hash("4821").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("4821", &h));
        assert!(!verify("4822", &h));
        assert!(!verify("4821", "not a hash"));
        assert!(!verify_or_waste_time("4821", None));
        assert_ne!(hash("4821").unwrap(), h, "salted");
    }
}
