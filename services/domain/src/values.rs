//! Small values that can only hold what is valid.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

/// A station operator's PIN: 4 to 8 digits. Its Debug never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn parse(s: &str, field: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        if (4..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Pin(s.to_string()))
        } else {
            Err(FieldError::new(field, "a PIN is 4 to 8 digits"))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// How many copies: 1 to 50, the range the database checks too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Quantity(u8);

impl Quantity {
    pub const MAX: i64 = 50;

    pub fn new(n: i64, field: &str) -> Result<Self, FieldError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Quantity(n as u8))
        } else {
            Err(FieldError::new(
                field,
                format!("quantity must be 1 to {}, got {n}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0 as i64
    }
}

impl TryFrom<i64> for Quantity {
    type Error = FieldError;
    fn try_from(n: i64) -> Result<Self, FieldError> {
        Quantity::new(n, "quantity")
    }
}

impl From<Quantity> for i64 {
    fn from(q: Quantity) -> i64 {
        q.get()
    }
}

/// A DICOM UID: digit groups separated by dots, at most 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StudyUid(String);

impl StudyUid {
    pub fn parse(s: &str, field: &str) -> Result<Self, FieldError> {
        let s = s.trim().trim_end_matches('\0');
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.split('.')
                .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()));
        if ok {
            Ok(StudyUid(s.to_string()))
        } else {
            Err(FieldError::new(
                field,
                "a study instance UID is dot-separated digits, at most 64 characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StudyUid {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        StudyUid::parse(&s, "study_uid")
    }
}

impl From<StudyUid> for String {
    fn from(u: StudyUid) -> String {
        u.0
    }
}

/// Trims a free-text field and bounds its length; empty becomes `None`.
pub fn optional_text(
    value: Option<&str>,
    field: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("at most {max_chars} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control() && c != '\n') {
        return Err(FieldError::new(field, "control characters are not allowed"));
    }
    Ok(Some(v.to_string()))
}

/// Like `optional_text`, but the field must be there.
pub fn required_text(
    value: Option<&str>,
    field: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    optional_text(value, field, max_chars)?.ok_or_else(|| FieldError::new(field, "is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_eight_digits_and_never_printed() {
        assert_eq!(Pin::parse(" 4821 ", "pin").unwrap().expose(), "4821");
        assert!(Pin::parse("12345678", "pin").is_ok());
        for bad in ["123", "123456789", "12a4", "", "12 34"] {
            assert_eq!(
                Pin::parse(bad, "pin").unwrap_err().to_string(),
                "pin: a PIN is 4 to 8 digits"
            );
        }
        assert_eq!(
            format!("{:?}", Pin::parse("4821", "pin").unwrap()),
            "Pin(****)"
        );
    }

    #[test]
    fn quantity_bounds() {
        assert_eq!(Quantity::new(1, "q").unwrap().get(), 1);
        assert_eq!(Quantity::new(50, "q").unwrap().get(), 50);
        for bad in [0, -1, 51, i64::MAX] {
            let e = Quantity::new(bad, "quantity").unwrap_err();
            assert_eq!(e.field, "quantity");
        }
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert_eq!(serde_json::from_str::<Quantity>("3").unwrap().get(), 3);
    }

    #[test]
    fn study_uid_shape() {
        assert!(StudyUid::parse("1.3.6.1.4.1.5962.1.2.0.1175775771.5702.0", "u").is_ok());
        assert_eq!(StudyUid::parse("1.2.3\0", "u").unwrap().as_str(), "1.2.3");
        for bad in ["", "1..2", "1.2.a", ".1", &"1".repeat(65)] {
            assert!(StudyUid::parse(bad, "u").is_err(), "{bad}");
        }
    }

    #[test]
    fn text_fields() {
        assert_eq!(optional_text(Some("  "), "c", 5).unwrap(), None);
        assert_eq!(
            optional_text(Some(" ab "), "c", 5).unwrap(),
            Some("ab".into())
        );
        assert_eq!(
            optional_text(Some("abcdef"), "c", 5).unwrap_err().field,
            "c"
        );
        assert!(optional_text(Some("a\u{7}b"), "c", 5).is_err());
        assert_eq!(
            required_text(None, "reason", 5).unwrap_err().reason,
            "is required"
        );
    }
}
