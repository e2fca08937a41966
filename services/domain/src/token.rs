//! The opaque signed token inside a slip's QR code.
//!
//! `MD1-<id>-<slip version>-<mac>`: only characters of the QR alphanumeric
//! set, so the code stays at version 3 or less at error correction Q. No
//! personal data. The slip version lets a reprint retire the old slip.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

const PREFIX: &str = "MD1";
/// 10 bytes of HMAC-SHA256 = 80 bits, 16 base32 characters.
const MAC_BYTES: usize = 10;
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The key slips are signed with (from configuration).
#[derive(Clone)]
pub struct SlipKey(Vec<u8>);

impl SlipKey {
    pub fn new(secret: &[u8]) -> Self {
        SlipKey(secret.to_vec())
    }

    fn mac(&self, id: i64, version: i32) -> [u8; MAC_BYTES] {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut m =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        m.update(format!("{PREFIX}|{id}|{version}").as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }

    pub fn sign(&self, distribution_id: i64, slip_version: i32) -> SlipToken {
        let mac = base32(&self.mac(distribution_id, slip_version));
        SlipToken {
            distribution_id,
            slip_version,
            text: format!("{PREFIX}-{distribution_id}-{slip_version}-{mac}"),
        }
    }

    /// Checks shape and signature. The slip version still has to be compared
    /// with the stored one by whoever loads the distribution.
    pub fn verify(&self, scanned: &str) -> Result<SlipToken, TokenError> {
        let s = scanned.trim();
        if s.len() > 40 {
            return Err(TokenError::Malformed);
        }
        // A scanner with Caps Lock on types the code in lower case; the
        // code's alphabet is upper case only, so nothing is lost.
        let upper = s.to_ascii_uppercase();
        let s = upper.as_str();
        let mut parts = s.split('-');
        let (Some(prefix), Some(id), Some(ver), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TokenError::Malformed);
        };
        if prefix != PREFIX {
            return Err(TokenError::Malformed);
        }
        let digits =
            |x: &str| !x.is_empty() && x.len() <= 18 && x.bytes().all(|b| b.is_ascii_digit());
        if !digits(id) || !digits(ver) || mac.len() != 16 {
            return Err(TokenError::Malformed);
        }
        let id: i64 = id.parse().map_err(|_| TokenError::Malformed)?;
        let version: i32 = ver.parse().map_err(|_| TokenError::Malformed)?;
        let expected = base32(&self.mac(id, version));
        // Constant time: the comparison must not tell an attacker how close they are.
        if subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.as_bytes()).into() {
            Ok(SlipToken {
                distribution_id: id,
                slip_version: version,
                text: s.to_string(),
            })
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

impl fmt::Debug for SlipKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SlipKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlipToken {
    pub distribution_id: i64,
    pub slip_version: i32,
    text: String,
}

impl SlipToken {
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for SlipToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a mediadist slip code")]
    Malformed,
    #[error("the slip code's signature is wrong: the slip is forged or damaged")]
    BadSignature,
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SlipKey {
        SlipKey::new(b"test-key")
    }

    #[test]
    fn a_code_typed_in_lower_case_still_verifies() {
        let t = key().sign(42, 3);
        let v = key().verify(&t.as_str().to_ascii_lowercase()).unwrap();
        assert_eq!((v.distribution_id, v.slip_version), (42, 3));
        assert_eq!(v.as_str(), t.as_str());
    }

    #[test]
    fn sign_then_verify_round_trips() {
        let t = key().sign(123456, 1);
        assert!(t.as_str().starts_with("MD1-123456-1-"));
        assert_eq!(t.as_str().len(), "MD1-123456-1-".len() + 16);
        let v = key().verify(t.as_str()).unwrap();
        assert_eq!((v.distribution_id, v.slip_version), (123456, 1));
    }

    #[test]
    fn token_uses_only_qr_alphanumeric_characters_and_fits_version_3q() {
        let t = key().sign(9_999_999_999, 99);
        assert!(t.as_str().len() <= 35, "{}", t.as_str().len());
        assert!(t
            .as_str()
            .bytes()
            .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b)));
    }

    #[test]
    fn tampering_is_refused() {
        let t = key().sign(42, 1);
        let s = t.as_str();
        assert_eq!(
            key().verify(&s.replace("MD1-42-", "MD1-43-")),
            Err(TokenError::BadSignature)
        );
        assert_eq!(
            key().verify(&s.replace("-1-", "-2-")),
            Err(TokenError::BadSignature)
        );
        let mut flipped = s.to_string();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(key().verify(&flipped), Err(TokenError::BadSignature));
        assert_eq!(
            SlipKey::new(b"other").verify(s),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn garbage_is_malformed() {
        let t = key().sign(42, 1);
        for bad in [
            "",
            "hello",
            "MD2-42-1-AAAAAAAAAAAAAAAA",
            &t.as_str()[..t.as_str().len() - 1],
            "MD1-x-1-AAAAAAAAAAAAAAAA",
            &format!("{}{}", t.as_str(), t.as_str()),
            "MD1-42-1-AAAA-AAAAAAAAAAAA",
        ] {
            assert_eq!(key().verify(bad), Err(TokenError::Malformed), "{bad}");
        }
    }

    #[test]
    fn a_new_slip_version_gives_a_different_token() {
        assert_ne!(key().sign(42, 1).as_str(), key().sign(42, 2).as_str());
    }

    #[test]
    fn base32_known_values() {
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}
