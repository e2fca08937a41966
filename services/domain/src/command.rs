//! Command payloads as they travel (the `data` of a CloudEvent), and their
//! validation into typed commands. Unknown fields are refused so a typo in
//! an integration is an error, not silently ignored data.

use crate::enums::{MediaType, Relationship, RequesterType, Urgency};
use crate::error::FieldError;
use crate::identity::{DocumentInput, IdentityDocument, Mykad, PassportNo};
use crate::reference::Reference;
use crate::values::{optional_text, required_text, Quantity, StudyUid};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Which distribution a command is about: a scanned slip, an id, or the
/// short reference typed by hand. Exactly one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TargetData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Token(String),
    Id(i64),
}

impl Target {
    pub fn parse(t: &TargetData) -> Result<Self, FieldError> {
        match (&t.token, t.distribution_id, &t.reference) {
            (Some(tok), None, None) => Ok(Target::Token(tok.clone())),
            (None, Some(id), None) if id > 0 => Ok(Target::Id(id)),
            (None, None, Some(r)) => Ok(Target::Id(Reference::parse(r, "target.reference")?.id())),
            (None, Some(_), None) => Err(FieldError::new(
                "target.distribution_id",
                "must be a positive id",
            )),
            _ => Err(FieldError::new(
                "target",
                "give exactly one of token, distribution_id, reference",
            )),
        }
    }

    /// A handover by reference or id means the slip was not presented.
    pub fn is_slip(&self) -> bool {
        matches!(self, Target::Token(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassportData {
    pub country: String,
    pub number: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientData {
    /// Medical record number (DICOM PatientID).
    pub mrn: String,
    #[serde(default)]
    pub issuer: Option<String>,
    pub name: String,
    #[serde(default)]
    pub ic: Option<String>,
    #[serde(default)]
    pub passport: Option<PassportData>,
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub sex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudyData {
    pub uid: String,
    #[serde(default)]
    pub accession_number: Option<String>,
    #[serde(default)]
    pub study_date: Option<NaiveDate>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub modalities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExaminationData {
    pub series_uid: String,
    #[serde(default)]
    pub modality: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub number: Option<i32>,
    pub instance_count: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStudyData {
    pub patient: PatientData,
    pub study: StudyData,
    #[serde(default)]
    pub examinations: Vec<ExaminationData>,
}

/// A study registration whose values are known to be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterStudy {
    pub mrn: String,
    pub issuer: String,
    pub patient_name: String,
    pub ic: Option<Mykad>,
    pub passport: Option<PassportNo>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<String>,
    pub study_uid: StudyUid,
    pub accession_number: Option<String>,
    pub study_date: Option<NaiveDate>,
    pub description: Option<String>,
    pub modalities: Vec<String>,
    pub examinations: Vec<ExaminationData>,
}

impl RegisterStudyData {
    pub fn validate(&self) -> Result<RegisterStudy, FieldError> {
        let p = &self.patient;
        let sex =
            optional_text(p.sex.as_deref(), "patient.sex", 1)?.map(|s| s.to_ascii_uppercase());
        if let Some(s) = &sex {
            if !["M", "F", "O"].contains(&s.as_str()) {
                return Err(FieldError::new("patient.sex", "M, F or O"));
            }
        }
        for (i, e) in self.examinations.iter().enumerate() {
            StudyUid::parse(&e.series_uid, &format!("examinations[{i}].series_uid"))?;
            if e.instance_count < 0 {
                return Err(FieldError::new(
                    format!("examinations[{i}].instance_count"),
                    "cannot be negative",
                ));
            }
        }
        Ok(RegisterStudy {
            mrn: required_text(Some(&p.mrn), "patient.mrn", 64)?,
            issuer: optional_text(p.issuer.as_deref(), "patient.issuer", 64)?.unwrap_or_default(),
            patient_name: required_text(Some(&p.name), "patient.name", 200)?,
            ic: p
                .ic
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(|s| Mykad::parse(s, "patient.ic"))
                .transpose()?,
            passport: p
                .passport
                .as_ref()
                .map(|x| PassportNo::parse(&x.country, &x.number, "patient.passport"))
                .transpose()?,
            birth_date: p.birth_date,
            sex,
            study_uid: StudyUid::parse(&self.study.uid, "study.uid")?,
            accession_number: optional_text(
                self.study.accession_number.as_deref(),
                "study.accession_number",
                64,
            )?,
            study_date: self.study.study_date,
            description: optional_text(
                self.study.description.as_deref(),
                "study.description",
                200,
            )?,
            modalities: self.study.modalities.clone(),
            examinations: self.examinations.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequesterData {
    #[serde(rename = "type")]
    pub kind: String,
    /// Who asked, when not the patient: the relative, the clinician.
    #[serde(default)]
    pub name: Option<String>,
    /// The referral hospital or clinic.
    #[serde(default)]
    pub organisation: Option<String>,
    /// Consent or referral letter number.
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMediaData {
    pub study_uids: Vec<String>,
    pub media_type: String,
    pub quantity: i64,
    #[serde(default = "normal")]
    pub urgency: String,
    pub requester: RequesterData,
    #[serde(default)]
    pub comments: Option<String>,
    pub actor: String,
}

fn normal() -> String {
    "NORMAL".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub kind: RequesterType,
    pub name: Option<String>,
    pub organisation: Option<String>,
    pub reference: Option<String>,
    pub contact: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMedia {
    pub study_uids: Vec<StudyUid>,
    pub media_type: MediaType,
    pub quantity: Quantity,
    pub urgency: Urgency,
    pub requester: Requester,
    pub comments: Option<String>,
}

/// Studies one request may cover.
pub const MAX_STUDIES: usize = 50;

impl RequestMediaData {
    pub fn validate(&self) -> Result<RequestMedia, FieldError> {
        if self.study_uids.is_empty() {
            return Err(FieldError::new("study_uids", "name at least one study"));
        }
        if self.study_uids.len() > MAX_STUDIES {
            return Err(FieldError::new(
                "study_uids",
                format!("at most {MAX_STUDIES} studies in one request"),
            ));
        }
        let mut study_uids = self
            .study_uids
            .iter()
            .enumerate()
            .map(|(i, u)| StudyUid::parse(u, &format!("study_uids[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        study_uids.sort();
        study_uids.dedup();
        let r = &self.requester;
        let requester = Requester {
            kind: RequesterType::parse(&r.kind, "requester.type")?,
            name: optional_text(r.name.as_deref(), "requester.name", 200)?,
            organisation: optional_text(r.organisation.as_deref(), "requester.organisation", 200)?,
            reference: optional_text(r.reference.as_deref(), "requester.reference", 100)?,
            contact: optional_text(r.contact.as_deref(), "requester.contact", 100)?,
        };
        // Who is on the other end must be recorded for anyone but the patient.
        match requester.kind {
            RequesterType::Patient => {}
            RequesterType::Relative | RequesterType::Clinician if requester.name.is_none() => {
                return Err(FieldError::new(
                    "requester.name",
                    "name the person who asked",
                ));
            }
            RequesterType::ReferralHospital if requester.organisation.is_none() => {
                return Err(FieldError::new(
                    "requester.organisation",
                    "name the referral hospital",
                ));
            }
            RequesterType::ReferralHospital if requester.reference.is_none() => {
                return Err(FieldError::new(
                    "requester.reference",
                    "give the referral letter's reference",
                ));
            }
            _ => {}
        }
        Ok(RequestMedia {
            study_uids,
            media_type: MediaType::parse(&self.media_type, "media_type")?,
            quantity: Quantity::new(self.quantity, "quantity")?,
            urgency: Urgency::parse(&self.urgency, "urgency")?,
            requester,
            comments: optional_text(self.comments.as_deref(), "comments", 1000)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartPreparingData {
    pub target: TargetData,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkReadyData {
    pub target: TargetData,
    pub storage_location: String,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelData {
    pub target: TargetData,
    pub reason: String,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReprintSlipData {
    pub target: TargetData,
    pub actor: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteData {
    pub target: TargetData,
    pub reason: String,
    pub actor: String,
}

/// Changes to fields outside the workflow; absent fields stay as they are.
/// An empty `comments` clears them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateData {
    pub target: TargetData,
    #[serde(default)]
    pub comments: Option<String>,
    #[serde(default)]
    pub urgency: Option<String>,
    #[serde(default)]
    pub quantity: Option<i64>,
    pub actor: String,
}

impl UpdateData {
    pub fn validate(&self) -> Result<crate::event::Changes, FieldError> {
        Ok(crate::event::Changes {
            comments: match &self.comments {
                Some(c) => Some(optional_text(Some(c), "comments", 1000)?.unwrap_or_default()),
                None => None,
            },
            urgency: self
                .urgency
                .as_deref()
                .map(|u| Urgency::parse(u, "urgency"))
                .transpose()?,
            quantity: self
                .quantity
                .map(|q| Quantity::new(q, "quantity"))
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorData {
    pub name: String,
    pub document: DocumentInput,
    pub relationship: String,
    /// What the relationship is when it is OTHER.
    #[serde(default)]
    pub relationship_other: Option<String>,
    /// Consent letter or referral letter number.
    #[serde(default)]
    pub authority_reference: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverData {
    pub target: TargetData,
    pub collector: CollectorData,
    /// The operator confirms the document was seen.
    pub document_seen: bool,
    #[serde(default)]
    pub comments: Option<String>,
    pub actor: String,
}

impl HandoverData {
    /// The desk's note, up to 1000 characters; blank is none.
    pub fn note(&self) -> Result<Option<String>, FieldError> {
        crate::values::optional_text(self.comments.as_deref(), "comments", 1000)
    }
}

/// A collector whose details are valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collector {
    pub name: String,
    pub document: IdentityDocument,
    pub relationship: Relationship,
    pub relationship_other: Option<String>,
    pub authority_reference: Option<String>,
}

impl CollectorData {
    pub fn validate(&self) -> Result<Collector, FieldError> {
        let relationship = Relationship::parse(&self.relationship, "collector.relationship")?;
        let relationship_other = optional_text(
            self.relationship_other.as_deref(),
            "collector.relationship_other",
            60,
        )?;
        if relationship == Relationship::Other && relationship_other.is_none() {
            return Err(FieldError::new(
                "collector.relationship_other",
                "say what the relationship is",
            ));
        }
        Ok(Collector {
            name: required_text(Some(&self.name), "collector.name", 200)?,
            document: IdentityDocument::parse(&self.document, "collector.document")?,
            relationship,
            relationship_other,
            authority_reference: optional_text(
                self.authority_reference.as_deref(),
                "collector.authority_reference",
                100,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> RequestMediaData {
        RequestMediaData {
            study_uids: vec!["1.2.3".into(), "1.2.3".into()],
            media_type: "cd".into(),
            quantity: 2,
            urgency: "URGENT".into(),
            requester: RequesterData {
                kind: "PATIENT".into(),
                name: None,
                organisation: None,
                reference: None,
                contact: None,
            },
            comments: Some("  ".into()),
            actor: "clerk1".into(),
        }
    }

    #[test]
    fn request_validates_and_normalises() {
        let r = request().validate().unwrap();
        assert_eq!(r.study_uids.len(), 1, "duplicates collapse");
        assert_eq!(
            (r.media_type, r.quantity.get(), r.urgency),
            (MediaType::Cd, 2, Urgency::Urgent)
        );
        assert_eq!(r.comments, None);
    }

    #[test]
    fn request_refusals_name_the_field() {
        let mut r = request();
        r.quantity = 0;
        assert_eq!(r.validate().unwrap_err().field, "quantity");
        let mut r = request();
        r.study_uids.clear();
        assert_eq!(r.validate().unwrap_err().field, "study_uids");
        let mut r = request();
        r.study_uids = vec!["abc".into()];
        assert_eq!(r.validate().unwrap_err().field, "study_uids[0]");
        let mut r = request();
        r.requester.kind = "REFERRAL_HOSPITAL".into();
        assert_eq!(r.validate().unwrap_err().field, "requester.organisation");
        r.requester.organisation = Some("Hospital Kuala Lumpur".into());
        assert_eq!(r.validate().unwrap_err().field, "requester.reference");
        r.requester.reference = Some("HKL/RAD/2026/118".into());
        assert!(r.validate().is_ok());
        let mut r = request();
        r.urgency = "NOW".into();
        assert_eq!(r.validate().unwrap_err().field, "urgency");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let j = r#"{"target":{"token":"x"},"actor":"a","extra":1}"#;
        assert!(serde_json::from_str::<StartPreparingData>(j).is_err());
    }

    #[test]
    fn target_needs_exactly_one() {
        assert_eq!(
            Target::parse(&TargetData {
                reference: Some("MD-000007".into()),
                ..Default::default()
            }),
            Ok(Target::Id(7))
        );
        assert_eq!(
            Target::parse(&TargetData::default()).unwrap_err().field,
            "target"
        );
        let both = TargetData {
            token: Some("t".into()),
            distribution_id: Some(1),
            reference: None,
        };
        assert_eq!(Target::parse(&both).unwrap_err().field, "target");
        assert_eq!(
            Target::parse(&TargetData {
                distribution_id: Some(0),
                ..Default::default()
            })
            .unwrap_err()
            .field,
            "target.distribution_id"
        );
    }

    #[test]
    fn collector_other_relationship_needs_words() {
        let c = CollectorData {
            name: "Ali".into(),
            document: DocumentInput {
                kind: "MYKAD".into(),
                number: "900101011235".into(),
                ..Default::default()
            },
            relationship: "OTHER".into(),
            relationship_other: None,
            authority_reference: None,
        };
        assert_eq!(
            c.validate().unwrap_err().field,
            "collector.relationship_other"
        );
        let mut bad = c.clone();
        bad.document.number = "900101171235".into();
        bad.relationship = "CHILD".into();
        assert_eq!(
            bad.validate().unwrap_err().field,
            "collector.document.number"
        );
    }
}
