//! Identity documents: MyKad, passports and other typed documents. Values
//! are normalised on parse and only ever shown masked.

use crate::error::FieldError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A Malaysian identity card number, `YYMMDD-PB-###G`, stored as 12 digits.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Mykad(String);

impl Mykad {
    pub fn parse(input: &str, field: &str) -> Result<Self, FieldError> {
        let digits: String = input
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .collect();
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FieldError::new(
                field,
                "a MyKad number has 12 digits (YYMMDD-PB-###G)",
            ));
        }
        let n = |r: std::ops::Range<usize>| digits[r].parse::<u32>().unwrap_or(0);
        let (yy, mm, dd) = (n(0..2), n(2..4), n(4..6));
        // The century is not written on the card; the date must exist in one of them.
        let exists = [1900, 2000]
            .iter()
            .any(|c| NaiveDate::from_ymd_opt((c + yy) as i32, mm, dd).is_some());
        if !exists {
            return Err(FieldError::new(
                field,
                "the birth date in a MyKad number (YYMMDD) does not exist",
            ));
        }
        let pb = n(6..8);
        if pb == 0 || (17..=20).contains(&pb) {
            return Err(FieldError::new(
                field,
                format!("place-of-birth code {pb:02} is not issued"),
            ));
        }
        Ok(Mykad(digits))
    }

    /// The 12 digits, as stored.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Place-of-birth codes 60 and above mark foreign-born or special cases.
    pub fn is_foreign_born(&self) -> bool {
        self.0[6..8]
            .parse::<u32>()
            .map(|pb| pb >= 60)
            .unwrap_or(false)
    }

    /// `******-**-123G`: enough to check against the card, useless to a stranger.
    pub fn masked(&self) -> String {
        format!("******-**-{}", &self.0[8..])
    }
}

impl TryFrom<String> for Mykad {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Mykad::parse(&s, "mykad")
    }
}

impl From<Mykad> for String {
    fn from(m: Mykad) -> String {
        m.0
    }
}

// Never print the full number by accident (logs, panics).
impl fmt::Debug for Mykad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mykad({})", self.masked())
    }
}

/// A passport: issuing country (2 or 3 letters) and number.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PassportNo {
    pub country: String,
    pub number: String,
}

impl PassportNo {
    pub fn parse(country: &str, number: &str, field: &str) -> Result<Self, FieldError> {
        let country = country.trim().to_ascii_uppercase();
        if !(2..=3).contains(&country.len()) || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(FieldError::new(
                format!("{field}.country"),
                "the issuing country is a 2- or 3-letter code (e.g. IDN, GB)",
            ));
        }
        let number: String = number
            .trim()
            .chars()
            .filter(|c| *c != ' ')
            .collect::<String>()
            .to_ascii_uppercase();
        if !(5..=20).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                format!("{field}.number"),
                "a passport number is 5 to 20 letters and digits",
            ));
        }
        Ok(PassportNo { country, number })
    }

    pub fn masked(&self) -> String {
        let tail = &self.number[self.number.len().saturating_sub(3)..];
        format!(
            "{} {}{}",
            self.country,
            "*".repeat(self.number.len() - tail.len()),
            tail
        )
    }
}

impl fmt::Debug for PassportNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PassportNo({})", self.masked())
    }
}

/// Any identity document a collector may show.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdentityDocument {
    Mykad {
        number: Mykad,
    },
    Passport {
        passport: PassportNo,
    },
    /// Police or army card, staff ID card and the like, typed free form.
    Other {
        kind: String,
        number: String,
    },
}

/// The unvalidated form a document arrives in (forms, commands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// MYKAD, PASSPORT or OTHER.
    #[serde(rename = "type")]
    pub kind: String,
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// What the other document is ("police card", "staff ID card").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IdentityDocument {
    pub fn parse(input: &DocumentInput, field: &str) -> Result<Self, FieldError> {
        match input.kind.trim().to_ascii_uppercase().as_str() {
            "MYKAD" | "IC" | "NRIC" => Ok(IdentityDocument::Mykad {
                number: Mykad::parse(&input.number, &format!("{field}.number"))?,
            }),
            "PASSPORT" => {
                let country = input.country.as_deref().unwrap_or("");
                Ok(IdentityDocument::Passport {
                    passport: PassportNo::parse(country, &input.number, field)?,
                })
            }
            "OTHER" => {
                let kind = input
                    .description
                    .as_deref()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let number = input.number.trim().to_string();
                if kind.is_empty() || kind.chars().count() > 60 {
                    return Err(FieldError::new(
                        format!("{field}.description"),
                        "say what the document is (1 to 60 characters), e.g. police card",
                    ));
                }
                if number.is_empty()
                    || number.chars().count() > 40
                    || number.chars().any(char::is_control)
                {
                    return Err(FieldError::new(
                        format!("{field}.number"),
                        "the document number is 1 to 40 characters",
                    ));
                }
                Ok(IdentityDocument::Other { kind, number })
            }
            other => Err(FieldError::new(
                format!("{field}.type"),
                format!("'{other}' is not one of MYKAD, PASSPORT, OTHER"),
            )),
        }
    }

    pub fn type_code(&self) -> &'static str {
        match self {
            IdentityDocument::Mykad { .. } => "MYKAD",
            IdentityDocument::Passport { .. } => "PASSPORT",
            IdentityDocument::Other { .. } => "OTHER",
        }
    }

    /// The normalised number as stored in the database.
    pub fn stored_number(&self) -> String {
        match self {
            IdentityDocument::Mykad { number } => number.digits().to_string(),
            IdentityDocument::Passport { passport } => {
                format!("{}:{}", passport.country, passport.number)
            }
            IdentityDocument::Other { number, .. } => number.clone(),
        }
    }

    /// Rebuilds a document from its stored columns (type, `stored_number`,
    /// and the kind of an OTHER document); `None` if they do not fit.
    pub fn from_stored(type_code: &str, stored: &str, kind: Option<&str>) -> Option<Self> {
        match type_code {
            "MYKAD" => Mykad::parse(stored, "stored")
                .ok()
                .map(|number| IdentityDocument::Mykad { number }),
            "PASSPORT" => {
                let (country, number) = stored.split_once(':')?;
                PassportNo::parse(country, number, "stored")
                    .ok()
                    .map(|passport| IdentityDocument::Passport { passport })
            }
            "OTHER" => Some(IdentityDocument::Other {
                kind: kind.unwrap_or("document").to_string(),
                number: stored.to_string(),
            }),
            _ => None,
        }
    }

    pub fn masked(&self) -> String {
        match self {
            IdentityDocument::Mykad { number } => number.masked(),
            IdentityDocument::Passport { passport } => passport.masked(),
            IdentityDocument::Other { kind, number } => {
                let n = number.chars().count();
                let tail: String = number.chars().skip(n.saturating_sub(3)).collect();
                format!("{kind} {}{tail}", "*".repeat(n.saturating_sub(3)))
            }
        }
    }
}

impl fmt::Debug for IdentityDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityDocument({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mykad_accepts_with_or_without_hyphens_and_normalises() {
        let a = Mykad::parse("850612-14-5523", "ic").unwrap();
        let b = Mykad::parse("850612145523", "ic").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.digits(), "850612145523");
        assert_eq!(a.masked(), "******-**-5523");
        assert_eq!(format!("{a:?}"), "Mykad(******-**-5523)");
    }

    #[test]
    fn mykad_date_must_exist_in_some_century() {
        assert!(
            Mykad::parse("000229-10-1234", "ic").is_ok(),
            "2000-02-29 exists"
        );
        let e = Mykad::parse("010229-10-1234", "ic").unwrap_err();
        assert!(e.reason.contains("does not exist"));
        assert!(Mykad::parse("851301-10-1234", "ic").is_err());
        assert!(Mykad::parse("850132-10-1234", "ic").is_err());
    }

    #[test]
    fn mykad_place_codes() {
        for ok in ["01", "16", "21", "59", "60", "99"] {
            assert!(
                Mykad::parse(&format!("850612{ok}5523"), "ic").is_ok(),
                "{ok}"
            );
        }
        for bad in ["00", "17", "18", "19", "20"] {
            let e = Mykad::parse(&format!("850612{bad}5523"), "collector.ic").unwrap_err();
            assert_eq!(e.field, "collector.ic");
            assert!(e.reason.contains(bad), "{bad}: {}", e.reason);
        }
        assert!(Mykad::parse("850612715523", "ic")
            .unwrap()
            .is_foreign_born());
        assert!(!Mykad::parse("850612145523", "ic")
            .unwrap()
            .is_foreign_born());
    }

    #[test]
    fn mykad_length_and_digits() {
        for bad in [
            "",
            "85061214552",
            "8506121455234",
            "85061214552X",
            "850612-14-552",
        ] {
            assert!(Mykad::parse(bad, "ic").is_err(), "{bad}");
        }
    }

    #[test]
    fn passport_normalises_and_masks() {
        let p = PassportNo::parse("idn", "b 1234567", "doc").unwrap();
        assert_eq!((p.country.as_str(), p.number.as_str()), ("IDN", "B1234567"));
        assert_eq!(p.masked(), "IDN *****567");
        assert_eq!(
            PassportNo::parse("I", "B1234567", "doc").unwrap_err().field,
            "doc.country"
        );
        assert_eq!(
            PassportNo::parse("IDN", "B12", "doc").unwrap_err().field,
            "doc.number"
        );
    }

    #[test]
    fn document_input_parses_each_kind() {
        let m = IdentityDocument::parse(
            &DocumentInput {
                kind: "mykad".into(),
                number: "900101-01-1235".into(),
                ..Default::default()
            },
            "collector.document",
        )
        .unwrap();
        assert_eq!(m.stored_number(), "900101011235");
        assert_eq!(m.type_code(), "MYKAD");
        let p = IdentityDocument::parse(
            &DocumentInput {
                kind: "PASSPORT".into(),
                number: "A9988776".into(),
                country: Some("SGP".into()),
                description: None,
            },
            "d",
        )
        .unwrap();
        assert_eq!(p.stored_number(), "SGP:A9988776");
        let o = IdentityDocument::parse(
            &DocumentInput {
                kind: "OTHER".into(),
                number: "HKL-00912".into(),
                country: None,
                description: Some("staff ID card".into()),
            },
            "d",
        )
        .unwrap();
        assert_eq!(o.masked(), "staff ID card ******912");
        let e = IdentityDocument::parse(
            &DocumentInput {
                kind: "LICENCE".into(),
                ..Default::default()
            },
            "d",
        )
        .unwrap_err();
        assert_eq!(e.field, "d.type");
        let e = IdentityDocument::parse(
            &DocumentInput {
                kind: "OTHER".into(),
                number: "1".into(),
                ..Default::default()
            },
            "d",
        )
        .unwrap_err();
        assert_eq!(e.field, "d.description");
    }
}
