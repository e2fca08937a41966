//! The short human reference printed on slips and typed when a code cannot
//! be scanned: `MD-000042`, derived from the distribution id.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Reference(i64);

impl Reference {
    pub fn from_id(id: i64) -> Self {
        Reference(id)
    }

    pub fn id(self) -> i64 {
        self.0
    }

    /// Accepts `MD-000042`, `md42`, `MD 42` or a bare `42`.
    pub fn parse(s: &str, field: &str) -> Result<Self, FieldError> {
        let t = s.trim().to_ascii_uppercase();
        let digits = match t.strip_prefix("MD") {
            Some(rest) => rest.trim_start_matches(['-', ' ']),
            None => t.as_str(),
        };
        // At most nine digits: a twelve-digit IC number typed into the
        // wrong box is refused, and the input is never echoed back.
        match digits.parse::<i64>() {
            Ok(n) if n > 0 && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Reference(n))
            }
            _ => Err(FieldError::new(field, "is not a reference like MD-000042")),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MD-{:06}", self.0)
    }
}

impl TryFrom<String> for Reference {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Reference::parse(&s, "reference")
    }
}

impl From<Reference> for String {
    fn from(r: Reference) -> String {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        assert_eq!(Reference::from_id(42).to_string(), "MD-000042");
        assert_eq!(Reference::from_id(12345678).to_string(), "MD-12345678");
        for s in ["MD-000042", "md42", "MD 42", "42", " md-42 "] {
            assert_eq!(Reference::parse(s, "r").unwrap().id(), 42, "{s}");
        }
        for bad in ["", "MD-", "MD-0", "MD-4x2", "-5", "MD--5x"] {
            assert!(Reference::parse(bad, "r").is_err(), "{bad}");
        }
        assert_eq!(
            Reference::parse("999999999", "r").unwrap().id(),
            999_999_999
        );
    }

    #[test]
    fn an_ic_number_is_not_a_reference_and_is_not_echoed() {
        for ic in ["900101145678", "MD-900101145678"] {
            let e = Reference::parse(ic, "reference").unwrap_err();
            assert_eq!(
                e.to_string(),
                "reference: is not a reference like MD-000042"
            );
        }
    }
}
