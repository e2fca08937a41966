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
                format!("must be 1 to {}, got {n}", Self::MAX),
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

/// What staff type to find a request: part of a name (any script), an MRN,
/// a reference, a document number, words from the comments. Up to 100
/// characters, of the kinds those hold; text shaped like SQL (statement
/// separators, comments, comparisons, a closing quote then a
/// keyword) is refused by name rather than searched for. Queries bind it as
/// a value either way: the refusal tells the caller, it does not protect us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    pub const MAX_CHARS: usize = 100;
    /// Punctuation seen in names (O'Brien, Siti-Aminah, Tan, A.), MRNs,
    /// references, document numbers and comments.
    const PUNCTUATION: &'static str = "'-.,/^@():#&+%_";
    const KEYWORDS: [&'static str; 10] = [
        "OR", "AND", "UNION", "SELECT", "DROP", "INSERT", "UPDATE", "DELETE", "EXEC", "WHERE",
    ];

    pub fn parse(s: &str, field: &str) -> Result<Self, FieldError> {
        let s = s.trim();
        let refuse = |why: String| Err(FieldError::new(field, why));
        if s.is_empty() {
            return refuse("is empty".into());
        }
        if s.chars().count() > Self::MAX_CHARS {
            return refuse(format!("at most {} characters", Self::MAX_CHARS));
        }
        if let Some(c) = s.chars().find(|c| c.is_control()) {
            return refuse(format!(
                "control characters are not allowed (U+{:04X})",
                c as u32
            ));
        }
        if let Some(c) = s.chars().find(|c| {
            !(c.is_alphanumeric() || *c == ' ' || Self::PUNCTUATION.contains(*c) || is_mark(*c))
        }) {
            return refuse(format!(
                "'{c}' is not searched for; use letters, digits, spaces and {}",
                Self::PUNCTUATION
            ));
        }
        if s.contains("--") {
            return refuse("looks like SQL (a comment marker); search for a name, MRN, reference or document number".into());
        }
        let upper = s.to_uppercase();
        let after_quote = upper.split('\'').skip(1).any(|rest| {
            rest.starts_with(' ')
                && rest
                    .split_whitespace()
                    .next()
                    .is_some_and(|w| Self::KEYWORDS.contains(&w))
        });
        if after_quote {
            return refuse("looks like SQL (a quote then a keyword); search for a name, MRN, reference or document number".into());
        }
        Ok(SearchText(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Combining marks (Tamil vowel signs, accents typed separately): part of
/// a name, though not alphanumeric.
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0B80..=0x0BFF | 0x0900..=0x097F | 0x0610..=0x061A | 0x064B..=0x065F | 0x200C | 0x200D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_takes_names_numbers_and_refuses_sql() {
        for good in [
            "O'Brien",
            "Siti-Aminah binti Ali",
            "Çelik",
            "李",
            "முருகன்",
            "MD-000015",
            "900101-14-1235",
            "A1234567",
            "courier 10:30 (urgent) & co.",
            "%",
            "_",
            "d'Or",
        ] {
            assert_eq!(
                SearchText::parse(good, "search").map(|s| s.0),
                Ok(good.to_string()),
                "{good}"
            );
        }
        for (bad, says) in [
            (
                "'; DROP TABLE media_distributions; --",
                "';' is not searched for",
            ),
            ("1 OR 1=1", "'=' is not searched for"),
            ("admin'--", "comment marker"),
            ("x /* y", "'*' is not searched for"),
            ("' OR 'a' LIKE 'a", "a quote then a keyword"),
            (
                "Tan' union select name from staff",
                "a quote then a keyword",
            ),
            ("name\\x", "'\\' is not searched for"),
            ("\u{7}", "control characters"),
            ("   ", "is empty"),
        ] {
            let e = SearchText::parse(bad, "search").unwrap_err();
            assert_eq!(e.field, "search");
            assert!(e.reason.contains(says), "{bad}: {}", e.reason);
        }
        assert!(SearchText::parse(&"a".repeat(100), "search").is_ok());
        assert!(SearchText::parse(&"a".repeat(101), "search").is_err());
    }

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
