use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use mediadist_dicom_import::{scan, ImportError, ScanReport, SKIP_DICOMDIR};

fn samples() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/dicom"))
}

fn scan_quiet(root: &Path) -> ScanReport {
    scan(root, &mut |_| {}).unwrap()
}

/// A fresh scratch directory per test (no tempfile crate in the workspace).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mediadist-dicom-import-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn samples_give_expected_counts_and_skips() {
    let root = samples();
    let report = scan_quiet(&root);

    let patients: BTreeSet<(String, Option<String>)> = report
        .studies
        .iter()
        .map(|s| (s.patient.patient_id.clone(), s.patient.issuer.clone()))
        .collect();
    let series: usize = report.studies.iter().map(|s| s.series.len()).sum();
    let per_series: u32 = report
        .studies
        .iter()
        .flat_map(|s| &s.series)
        .map(|s| s.instance_count)
        .sum();
    assert_eq!(patients.len(), 5);
    assert_eq!(
        patients.into_iter().map(|p| p.0).collect::<Vec<_>>(),
        ["12345678", "1CT1", "4MR1", "77654033", "98890234"]
    );
    assert_eq!(report.studies.len(), 9);
    assert_eq!(series, 16);
    assert_eq!(report.instances, 83);
    assert_eq!(per_series, 83);
    assert_eq!(report.files_seen, 93);

    let skipped: Vec<(String, &str)> = report
        .skipped
        .iter()
        .map(|s| {
            let rel = s.path.strip_prefix(&root).unwrap();
            (rel.to_string_lossy().into_owned(), s.reason.as_str())
        })
        .collect();
    let not_dicom = "not a DICOM file (no \"DICM\" marker)";
    let expected = [
        ("SOURCE.md", not_dicom),
        ("pacs-sample/DICOMDIR", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-bigEnd", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-empty.dcm", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-implicit", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-nooffset", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-nopatient", SKIP_DICOMDIR),
        ("pacs-sample/DICOMDIR-reordered", SKIP_DICOMDIR),
        // The TINY_ALPHA file-set has its own DICOMDIR and a README
        // (the File-set Descriptor File, plain text).
        ("pacs-sample/TINY_ALPHA/DICOMDIR", SKIP_DICOMDIR),
        ("pacs-sample/TINY_ALPHA/README", not_dicom),
    ];
    let expected: Vec<(String, &str)> = expected.iter().map(|(p, r)| (p.to_string(), *r)).collect();
    assert_eq!(skipped, expected);
    assert_eq!(SKIP_DICOMDIR, "DICOMDIR (directory record, not an image)");
}

#[test]
fn doe_peter_has_four_studies_including_brain_mra() {
    let report = scan_quiet(&samples());
    let peter: Vec<_> = report
        .studies
        .iter()
        .filter(|s| s.patient.name == "Doe^Peter")
        .collect();
    let summary: Vec<(&str, Option<&str>, Option<&str>)> = peter
        .iter()
        .map(|s| {
            (
                s.study_uid.as_str(),
                s.description.as_deref(),
                s.accession_number.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // Empty StudyDescription in the file → None.
            (
                "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1",
                None,
                Some("2")
            ),
            (
                "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.1",
                Some("Brain-MRA"),
                Some("2")
            ),
            (
                "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133",
                Some("Brain"),
                Some("134")
            ),
            (
                "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.427",
                Some("Carotids"),
                Some("428")
            ),
        ]
    );
    for s in &peter {
        assert_eq!(s.patient.patient_id, "98890234");
        assert_eq!(s.patient.issuer, None);
        assert_eq!(s.patient.sex.as_deref(), Some("M"));
        assert_eq!(s.patient.birth_date, None);
    }

    let mra = peter[1];
    assert_eq!(mra.study_date, NaiveDate::from_ymd_opt(2003, 5, 5));
    assert_eq!(mra.study_time.as_deref(), Some("045357"));
    assert_eq!(mra.modalities, ["MR"]);
    let series: Vec<(Option<i32>, Option<&str>, u32)> = mra
        .series
        .iter()
        .map(|s| (s.number, s.description.as_deref(), s.instance_count))
        .collect();
    assert_eq!(
        series,
        [
            (Some(1), Some("FAST LOCALIZER"), 1),
            (Some(2), Some("T/S/C RF FAST PILOT"), 3),
            // Inner spaces are data, only the padding is trimmed.
            (Some(700), Some("ANGIO Projected from   C"), 7),
        ]
    );

    let ct = peter[0];
    assert_eq!(ct.modalities, ["CT"]);
    let numbers: Vec<_> = ct.series.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [Some(4), Some(5)]);
}

#[test]
fn accession_numbers_repeat_across_patients() {
    let report = scan_quiet(&samples());
    let with_2: BTreeSet<&str> = report
        .studies
        .iter()
        .filter(|s| s.accession_number.as_deref() == Some("2"))
        .map(|s| s.patient.name.as_str())
        .collect();
    assert_eq!(with_2, BTreeSet::from(["Doe^Archibald", "Doe^Peter"]));
}

#[test]
fn missing_birth_date_is_none() {
    let report = scan_quiet(&samples());
    // pydicom's TINY_ALPHA writer omits (0010,0030) entirely.
    let jan = report
        .studies
        .iter()
        .find(|s| s.patient.name == "Citizen^Jan")
        .unwrap();
    assert_eq!(jan.patient.patient_id, "12345678");
    assert_eq!(jan.patient.birth_date, None);
    assert_eq!(jan.patient.sex, None);
    assert_eq!(jan.accession_number.as_deref(), Some("1"));
    assert_eq!(jan.study_date, NaiveDate::from_ymd_opt(2020, 9, 13));
    assert_eq!(jan.study_time.as_deref(), Some("161900"));
    assert_eq!(jan.description.as_deref(), Some("Testing File-set"));
    assert_eq!(jan.series.len(), 1);
    assert_eq!(jan.series[0].instance_count, 50);
    assert_eq!(jan.series[0].number, Some(1));
    assert_eq!(jan.series[0].description, None);
}

#[test]
fn text_and_empty_files_are_skipped_not_fatal() {
    let dir = scratch("junk");
    std::fs::write(dir.join("a-notes.txt"), "hello, not DICOM\n").unwrap();
    std::fs::write(dir.join("b-empty.dcm"), b"").unwrap();

    let report = scan_quiet(&dir);
    assert_eq!(report.files_seen, 2);
    assert_eq!(report.instances, 0);
    assert!(report.studies.is_empty());
    let skipped: Vec<(PathBuf, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.path.clone(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            (
                dir.join("a-notes.txt"),
                "not a DICOM file (no \"DICM\" marker)"
            ),
            (dir.join("b-empty.dcm"), "empty file (0 bytes), not DICOM"),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn same_sop_instance_twice_counts_once() {
    let dir = scratch("dup");
    let ct = samples().join("CT_small.dcm");
    std::fs::copy(&ct, dir.join("copy1.dcm")).unwrap();
    std::fs::copy(&ct, dir.join("copy2.dcm")).unwrap();

    let report = scan_quiet(&dir);
    assert_eq!(report.files_seen, 2);
    assert_eq!(report.instances, 1);
    assert_eq!(report.studies.len(), 1);
    assert_eq!(report.studies[0].series[0].instance_count, 1);
    assert!(report.skipped.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn instance_without_study_uid_is_skipped() {
    let dir = scratch("nostudy");
    // Rename (0020,000D) to the unused (0020,000C) in an explicit-VR LE
    // copy of CT_small: tag order stays ascending, the file stays valid.
    let mut bytes = std::fs::read(samples().join("CT_small.dcm")).unwrap();
    let needle = [0x20, 0x00, 0x0D, 0x00, b'U', b'I'];
    let at = bytes.windows(6).position(|w| w == needle).unwrap();
    bytes[at + 2] = 0x0C;
    let path = dir.join("nostudy.dcm");
    std::fs::write(&path, bytes).unwrap();

    let report = scan_quiet(&dir);
    assert_eq!(report.instances, 0);
    assert!(report.studies.is_empty());
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].path, path);
    assert_eq!(
        report.skipped[0].reason,
        "missing StudyInstanceUID (0020,000D)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn single_file_root() {
    let report = scan_quiet(&samples().join("MR_small.dcm"));
    assert_eq!(report.files_seen, 1);
    assert_eq!(report.instances, 1);
    assert!(report.skipped.is_empty());
    let study = &report.studies[0];
    assert_eq!(
        study.study_uid,
        "1.3.6.1.4.1.5962.1.2.4.20040826185059.5457"
    );
    assert_eq!(study.patient.name, "CompressedSamples^MR1");
    assert_eq!(study.patient.patient_id, "4MR1");
    assert_eq!(study.patient.sex.as_deref(), Some("F"));
    // (0010,0030) is present but empty here.
    assert_eq!(study.patient.birth_date, None);
    // No StudyDescription element at all.
    assert_eq!(study.description, None);
    assert_eq!(study.accession_number, None);
    assert_eq!(study.study_date, NaiveDate::from_ymd_opt(2004, 8, 26));
    assert_eq!(study.modalities, ["MR"]);
}

#[test]
fn scanning_twice_is_identical() {
    let root = samples();
    let a = scan_quiet(&root);
    let b = scan_quiet(&root);
    assert_eq!(a, b);
    let uids: Vec<&str> = a.studies.iter().map(|s| s.study_uid.as_str()).collect();
    let mut sorted = uids.clone();
    sorted.sort();
    assert_eq!(uids, sorted);
}

#[test]
fn progress_is_reported_for_every_file() {
    let root = samples();
    let mut calls = Vec::new();
    let report = scan(&root, &mut |p| calls.push(p)).unwrap();
    assert_eq!(calls.len(), 93);
    assert_eq!(calls.len(), report.files_seen);
    let last = calls.last().unwrap();
    assert_eq!(last.files_seen, 93);
    assert_eq!(last.instances, 83);
    assert_eq!(calls[0].current, root.join("CT_small.dcm"));
    assert_eq!(calls[0].instances, 1);
    assert!(calls
        .windows(2)
        .all(|w| w[0].files_seen + 1 == w[1].files_seen));
}

#[test]
fn nonexistent_root_is_an_error() {
    let root = samples().join("does-not-exist");
    let err = scan(&root, &mut |_| {}).unwrap_err();
    assert!(matches!(&err, ImportError::Root { path, .. } if *path == root));
    assert!(err.to_string().starts_with("cannot read import root "));
}
