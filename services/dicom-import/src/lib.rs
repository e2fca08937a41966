//! Reads DICOM headers from a folder (e.g. a patient CD) and groups the
//! instances into studies and series.
//!
//! Pure apart from reading files: no database, no network. Only the header
//! of each file is parsed (reading stops at Pixel Data).

mod error;
mod group;
mod read;

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

pub use error::ImportError;
pub use read::SKIP_DICOMDIR;

/// A patient as identified in the headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImportedPatient {
    /// (0010,0020); empty when the file has none.
    pub patient_id: String,
    /// (0010,0021) Issuer of Patient ID.
    pub issuer: Option<String>,
    /// (0010,0010), DICOM PN as stored, e.g. "Doe^Peter"; may be empty.
    pub name: String,
    /// (0010,0030); None when missing, empty or not a valid date.
    pub birth_date: Option<chrono::NaiveDate>,
    /// (0010,0040): "M", "F", "O" or None.
    pub sex: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedSeries {
    pub series_uid: String,
    pub modality: Option<String>,
    pub description: Option<String>,
    pub number: Option<i32>,
    /// Distinct SOP instances of this series found in the walk.
    pub instance_count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedStudy {
    pub study_uid: String,
    pub patient: ImportedPatient,
    /// Not unique in real data (different patients share "1", etc.).
    pub accession_number: Option<String>,
    pub study_date: Option<chrono::NaiveDate>,
    /// (0008,0030) as stored, e.g. "161900" or "120000.000000".
    pub study_time: Option<String>,
    /// None when empty.
    pub description: Option<String>,
    /// Distinct, sorted, taken from the series.
    pub modalities: Vec<String>,
    /// Sorted by series number (unnumbered last), then UID.
    pub series: Vec<ImportedSeries>,
}

/// A file that contributed no instance, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanReport {
    /// Sorted by study UID.
    pub studies: Vec<ImportedStudy>,
    /// In walk (sorted file name) order.
    pub skipped: Vec<Skipped>,
    /// Every non-directory entry visited, including skipped ones.
    pub files_seen: usize,
    /// Distinct SOP instances (a duplicate SOPInstanceUID counts once).
    pub instances: usize,
}

/// Reported after each file; the caller decides how often to show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub files_seen: usize,
    pub instances: usize,
    pub current: PathBuf,
}

/// Scans `root` (a folder, walked recursively in sorted order without
/// following symlinks, or a single file).
///
/// Fails only when `root` itself cannot be read; any unreadable or
/// non-DICOM file below it ends up in [`ScanReport::skipped`].
pub fn scan(root: &Path, progress: &mut dyn FnMut(Progress)) -> Result<ScanReport, ImportError> {
    std::fs::metadata(root).map_err(|source| ImportError::Root {
        path: root.to_path_buf(),
        source,
    })?;

    let mut grouper = group::Grouper::default();
    let mut skipped = Vec::new();
    let mut files_seen = 0;

    let walk = WalkDir::new(root).follow_links(false).sort_by_file_name();
    for entry in walk {
        let entry = match entry {
            Ok(entry) => entry,
            // The root itself unreadable is fatal; anything deeper is one
            // more skipped path so the rest of the media still imports.
            Err(err) if err.depth() == 0 => {
                return Err(ImportError::Walk {
                    path: root.to_path_buf(),
                    source: err,
                })
            }
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                files_seen += 1;
                skipped.push(Skipped {
                    path: path.clone(),
                    reason: format!("cannot read: {err}"),
                });
                progress(Progress {
                    files_seen,
                    instances: grouper.instances(),
                    current: path,
                });
                continue;
            }
        };
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        files_seen += 1;
        let path = entry.into_path();
        if file_type.is_symlink() {
            skipped.push(Skipped {
                path: path.clone(),
                reason: "symbolic link (not followed)".to_string(),
            });
        } else {
            match read::read_instance(&path) {
                Ok(rec) => {
                    grouper.add(rec);
                }
                Err(reason) => skipped.push(Skipped {
                    path: path.clone(),
                    reason,
                }),
            }
        }
        progress(Progress {
            files_seen,
            instances: grouper.instances(),
            current: path,
        });
    }

    let instances = grouper.instances();
    Ok(ScanReport {
        studies: grouper.finish(),
        skipped,
        files_seen,
        instances,
    })
}
