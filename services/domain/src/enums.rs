//! The closed vocabularies of the workflow. Wire form is SCREAMING_SNAKE_CASE,
//! the same strings the database check constraints hold.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};

macro_rules! vocabulary {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $wire:literal, $label:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            /// Parses the wire form, case-insensitively; `field` names the
            /// input in the error.
            pub fn parse(s: &str, field: &str) -> Result<Self, FieldError> {
                let up = s.trim().to_ascii_uppercase();
                match up.as_str() {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(FieldError::new(field, format!(
                        "'{}' is not one of {}", s.trim(),
                        [$($wire),+].join(", ")))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Where a distribution is in its life.
    Status {
        Requested => "REQUESTED", "Requested",
        Preparing => "PREPARING", "Preparing",
        Ready => "READY", "Ready for collection",
        Collected => "COLLECTED", "Collected",
        Cancelled => "CANCELLED", "Cancelled",
    }
);

impl Status {
    /// COLLECTED and CANCELLED never change again.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Collected | Status::Cancelled)
    }
}

vocabulary!(
    MediaType {
        Cd => "CD", "CD",
        Dvd => "DVD", "DVD",
        XrayFilm => "XRAY_FILM", "X-ray film",
        Usb => "USB", "USB drive",
        DigitalCopy => "DIGITAL_COPY", "Digital copy",
    }
);

vocabulary!(
    Urgency {
        Normal => "NORMAL", "Normal",
        Urgent => "URGENT", "Urgent",
        Stat => "STAT", "STAT",
    }
);

vocabulary!(
    /// Who asked for the copy.
    RequesterType {
        Patient => "PATIENT", "Patient",
        Relative => "RELATIVE", "Relative",
        ReferralHospital => "REFERRAL_HOSPITAL", "Referral hospital",
        Clinician => "CLINICIAN", "Clinician",
    }
);

vocabulary!(
    /// The collector's relationship to the patient.
    Relationship {
        SelfCollect => "SELF", "Self",
        Spouse => "SPOUSE", "Spouse",
        Parent => "PARENT", "Parent",
        Child => "CHILD", "Child",
        Sibling => "SIBLING", "Sibling",
        Guardian => "GUARDIAN", "Guardian",
        ReferralHospitalStaff => "REFERRAL_HOSPITAL_STAFF", "Referral hospital staff",
        Other => "OTHER", "Other",
    }
);

vocabulary!(
    /// Staff roles; what each may do is in `roles`.
    Role {
        Clerk => "CLERK", "Clerk",
        Radiographer => "RADIOGRAPHER", "Radiographer",
        Reception => "RECEPTION", "Reception",
        Admin => "ADMIN", "Administrator",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_names_the_field() {
        assert_eq!(
            MediaType::parse(" xray_film ", "media_type"),
            Ok(MediaType::XrayFilm)
        );
        let e = MediaType::parse("BLURAY", "media_type").unwrap_err();
        assert_eq!(e.field, "media_type");
        assert!(
            e.reason.contains("'BLURAY' is not one of CD, DVD"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn wire_form_round_trips_through_serde() {
        for s in Status::ALL {
            let j = serde_json::to_string(s).unwrap();
            assert_eq!(j, format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Status>(&j).unwrap(), *s);
        }
        assert_eq!(
            serde_json::to_string(&Relationship::SelfCollect).unwrap(),
            "\"SELF\""
        );
    }

    #[test]
    fn only_collected_and_cancelled_are_final() {
        let finals: Vec<_> = Status::ALL.iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, vec![&Status::Collected, &Status::Cancelled]);
    }
}
