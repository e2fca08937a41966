//! Errors of the importer.
//!
//! Only a root that cannot be read is an error; every problem with an
//! individual file becomes a `Skipped` entry instead, because one bad file on
//! a CD must not stop the import of the rest.

use std::path::PathBuf;

/// The scan could not start (or could not read the root folder itself).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// `root` does not exist or its metadata cannot be read.
    #[error("cannot read import root {path}: {source}")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `root` exists but cannot be listed (e.g. permission denied).
    #[error("cannot walk import root {path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: walkdir::Error,
    },
}
