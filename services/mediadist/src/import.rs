//! `mediadist import-dicom`: read DICOM headers from a folder and register
//! one study per StudyInstanceUID through the intake queue.

use mediadist_dicom_import::{scan, ImportedStudy, Progress, ScanReport};
use mediadist_domain::catalog::CommandType;
use mediadist_domain::command::{ExaminationData, PatientData, RegisterStudyData, StudyData};
use mediadist_domain::reply::Outcome;
use mediadist_platform::client::{ClientError, CommandClient};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub files_seen: usize,
    pub instances: usize,
    pub patients: usize,
    pub studies: usize,
    pub series: usize,
    pub registered: usize,
    pub refused: Vec<String>,
    pub unanswered: usize,
    pub skipped: Vec<(String, String)>,
}

impl std::fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} files read: {} patients, {} studies, {} series, {} instances",
            self.files_seen, self.patients, self.studies, self.series, self.instances
        )?;
        writeln!(
            f,
            "registered {} studies, refused {}, unanswered {}",
            self.registered,
            self.refused.len(),
            self.unanswered
        )?;
        for r in &self.refused {
            writeln!(f, "  refused: {r}")?;
        }
        writeln!(f, "skipped {} files:", self.skipped.len())?;
        for (path, reason) in &self.skipped {
            writeln!(f, "  {path}: {reason}")?;
        }
        Ok(())
    }
}

/// The registration command for one imported study.
pub fn registration(s: &ImportedStudy) -> RegisterStudyData {
    RegisterStudyData {
        patient: PatientData {
            mrn: s.patient.patient_id.clone(),
            issuer: s.patient.issuer.clone(),
            name: s.patient.name.clone(),
            ic: None,
            passport: None,
            birth_date: s.patient.birth_date,
            sex: s.patient.sex.clone(),
        },
        study: StudyData {
            uid: s.study_uid.clone(),
            accession_number: s.accession_number.clone(),
            study_date: s.study_date,
            description: s.description.clone(),
            modalities: s.modalities.clone(),
        },
        examinations: s
            .series
            .iter()
            .map(|x| ExaminationData {
                series_uid: x.series_uid.clone(),
                modality: x.modality.clone(),
                description: x.description.clone(),
                number: x.number,
                instance_count: x.instance_count.min(i32::MAX as u32) as i32,
            })
            .collect(),
    }
}

/// Scans `root`, printing a progress line to `progress_out`, then sends one
/// registration per study and waits for each answer.
pub async fn import(
    client: &CommandClient,
    root: &Path,
    progress_out: &mut dyn Write,
) -> anyhow::Result<ImportSummary> {
    let mut last = std::time::Instant::now();
    let report: ScanReport = scan(root, &mut |p: Progress| {
        if last.elapsed() > Duration::from_millis(200) {
            last = std::time::Instant::now();
            let _ = write!(
                progress_out,
                "\rreading: {} files, {} instances",
                p.files_seen, p.instances
            );
            let _ = progress_out.flush();
        }
    })?;
    let mut patients: Vec<(&str, Option<&str>)> = report
        .studies
        .iter()
        .map(|s| (s.patient.patient_id.as_str(), s.patient.issuer.as_deref()))
        .collect();
    patients.sort();
    patients.dedup();
    let mut summary = ImportSummary {
        files_seen: report.files_seen,
        instances: report.instances,
        patients: patients.len(),
        studies: report.studies.len(),
        series: report.studies.iter().map(|s| s.series.len()).sum(),
        skipped: report
            .skipped
            .iter()
            .map(|s| (s.path.display().to_string(), s.reason.clone()))
            .collect(),
        ..Default::default()
    };
    for (n, study) in report.studies.iter().enumerate() {
        let _ = write!(
            progress_out,
            "\rregistering: {}/{} studies",
            n + 1,
            report.studies.len()
        );
        let _ = progress_out.flush();
        let data = serde_json::to_value(registration(study))?;
        match client
            .send(CommandType::RegisterStudy, data, Duration::from_secs(15))
            .await
        {
            Ok(reply) if reply.outcome == Outcome::Accepted => summary.registered += 1,
            Ok(reply) => summary.refused.push(format!(
                "{}: {}",
                study.study_uid,
                reply.rejection.map(|r| r.to_string()).unwrap_or_default()
            )),
            Err(ClientError::Timeout(_)) => summary.unanswered += 1,
            Err(e) => return Err(e.into()),
        }
    }
    let _ = writeln!(progress_out);
    Ok(summary)
}
