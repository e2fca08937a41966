//! One file's header → one instance record.
//!
//! Errors here are plain `String` reasons: the caller turns them into
//! `Skipped` entries, never into a failed scan.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::NaiveDate;
use dicom_dictionary_std::{tags, uids};
use dicom_object::meta::FileMetaTable;
use dicom_object::{DefaultDicomObject, OpenFileOptions, Tag};

use crate::ImportedPatient;

/// Reason given for skipping a DICOMDIR; the images it indexes are found by
/// the walk itself, so reading its records would double-count them.
pub const SKIP_DICOMDIR: &str = "DICOMDIR (directory record, not an image)";

/// Header fields of one image/object instance, already trimmed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InstanceRecord {
    pub sop_instance_uid: Option<String>,
    pub study_uid: String,
    pub series_uid: String,
    pub patient: ImportedPatient,
    pub accession_number: Option<String>,
    pub study_date: Option<NaiveDate>,
    pub study_time: Option<String>,
    pub study_description: Option<String>,
    pub modality: Option<String>,
    pub series_description: Option<String>,
    pub series_number: Option<i32>,
}

/// Reads the header of `path`; `Err` holds a human-readable skip reason.
pub(crate) fn read_instance(path: &Path) -> Result<InstanceRecord, String> {
    // Look at the file meta first: it is cheap, it rejects non-DICOM files
    // with a clear reason, and it spots DICOMDIRs before their (possibly
    // deliberately broken) record sequence is parsed.
    let meta = read_meta(path)?;
    if meta.media_storage_sop_class_uid() == uids::MEDIA_STORAGE_DIRECTORY_STORAGE {
        return Err(SKIP_DICOMDIR.to_string());
    }

    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| format!("cannot parse DICOM header: {}", error_chain(&e)))?;

    // A DICOMDIR whose meta lies about its class still carries the
    // directory record sequence.
    if text(&obj, tags::SOP_CLASS_UID).as_deref() == Some(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
        || obj.get(tags::DIRECTORY_RECORD_SEQUENCE).is_some()
    {
        return Err(SKIP_DICOMDIR.to_string());
    }

    let study_uid = text(&obj, tags::STUDY_INSTANCE_UID)
        .ok_or_else(|| "missing StudyInstanceUID (0020,000D)".to_string())?;
    let series_uid = text(&obj, tags::SERIES_INSTANCE_UID)
        .ok_or_else(|| "missing SeriesInstanceUID (0020,000E)".to_string())?;
    // The meta copy of the instance UID is the fallback, so duplicates are
    // still recognised when the data set omits it.
    let sop_instance_uid = text(&obj, tags::SOP_INSTANCE_UID)
        .or_else(|| non_empty(meta.media_storage_sop_instance_uid()));

    Ok(InstanceRecord {
        sop_instance_uid,
        study_uid,
        series_uid,
        patient: ImportedPatient {
            patient_id: text(&obj, tags::PATIENT_ID).unwrap_or_default(),
            issuer: text(&obj, tags::ISSUER_OF_PATIENT_ID),
            name: text(&obj, tags::PATIENT_NAME).unwrap_or_default(),
            birth_date: text(&obj, tags::PATIENT_BIRTH_DATE).and_then(|s| parse_date(&s)),
            sex: text(&obj, tags::PATIENT_SEX).and_then(|s| parse_sex(&s)),
        },
        accession_number: text(&obj, tags::ACCESSION_NUMBER),
        study_date: text(&obj, tags::STUDY_DATE).and_then(|s| parse_date(&s)),
        study_time: text(&obj, tags::STUDY_TIME),
        study_description: text(&obj, tags::STUDY_DESCRIPTION),
        modality: text(&obj, tags::MODALITY),
        series_description: text(&obj, tags::SERIES_DESCRIPTION),
        series_number: text(&obj, tags::SERIES_NUMBER).and_then(|s| parse_is(&s)),
    })
}

/// Reads only the preamble and file meta group.
fn read_meta(path: &Path) -> Result<FileMetaTable, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open file: {e}"))?;
    let mut head = Vec::with_capacity(132);
    (&mut file)
        .take(132)
        .read_to_end(&mut head)
        .map_err(|e| format!("cannot read file: {e}"))?;
    if head.is_empty() {
        return Err("empty file (0 bytes), not DICOM".to_string());
    }
    // Part 10 files have "DICM" after a 128-byte preamble; some writers omit
    // the preamble, so accept the marker at offset 0 too.
    let marker_at = if head.get(128..132) == Some(b"DICM".as_slice()) {
        128
    } else if head.get(0..4) == Some(b"DICM".as_slice()) {
        0
    } else {
        return Err("not a DICOM file (no \"DICM\" marker)".to_string());
    };
    file.seek(SeekFrom::Start(marker_at))
        .map_err(|e| format!("cannot read file: {e}"))?;
    FileMetaTable::from_reader(BufReader::new(file))
        .map_err(|e| format!("invalid DICOM file meta group: {}", error_chain(&e)))
}

/// The element's value as text without DICOM padding; `None` when missing,
/// not textual or empty.
fn text(obj: &DefaultDicomObject, tag: Tag) -> Option<String> {
    let elem = obj.get(tag)?;
    let value = elem.to_str().ok()?;
    non_empty(&value)
}

/// Trims padding (spaces and NULs, both ends: leading spaces carry no
/// meaning in the string VRs we read) and maps "" to `None`.
fn non_empty(s: &str) -> Option<String> {
    let t = s.trim_matches(|c: char| c == ' ' || c == '\0');
    (!t.is_empty()).then(|| t.to_string())
}

/// DICOM DA is `YYYYMMDD`; old ACR-NEMA files use `YYYY.MM.DD`.
/// Anything else (partial, impossible dates) is treated as unknown.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    match s.len() {
        8 if s.bytes().all(|b| b.is_ascii_digit()) => NaiveDate::parse_from_str(s, "%Y%m%d").ok(),
        10 => NaiveDate::parse_from_str(s, "%Y.%m.%d").ok(),
        _ => None,
    }
}

/// Only the three defined codes are kept; free text would be a guess.
fn parse_sex(s: &str) -> Option<String> {
    let up = s.trim().to_ascii_uppercase();
    matches!(up.as_str(), "M" | "F" | "O").then_some(up)
}

/// IS values may carry a leading '+' or spaces.
fn parse_is(s: &str) -> Option<i32> {
    s.trim().trim_start_matches('+').parse().ok()
}

/// Display of an error plus its sources, so a skip reason names the cause
/// and not only the outermost context.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        out.push_str(": ");
        out.push_str(&src.to_string());
        cur = src.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("20200913"), NaiveDate::from_ymd_opt(2020, 9, 13));
        assert_eq!(
            parse_date("1995.01.31"),
            NaiveDate::from_ymd_opt(1995, 1, 31)
        );
        assert_eq!(parse_date("20201340"), None);
        assert_eq!(parse_date("2020"), None);
        assert_eq!(parse_date(""), None);
    }

    #[test]
    fn padding_and_codes() {
        assert_eq!(non_empty("Doe^Peter \0"), Some("Doe^Peter".to_string()));
        assert_eq!(non_empty(" \0"), None);
        assert_eq!(parse_sex("f "), Some("F".to_string()));
        assert_eq!(parse_sex("X"), None);
        assert_eq!(parse_is(" +12 "), Some(12));
        assert_eq!(parse_is("1.5"), None);
    }
}
