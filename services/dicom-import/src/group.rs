//! Instances → studies → series.
//!
//! Per-study and per-series fields are taken from the first instance (in
//! walk order) that has them, so the result depends only on the sorted walk
//! and not on which file happens to lack a field.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::read::InstanceRecord;
use crate::{ImportedPatient, ImportedSeries, ImportedStudy};

#[derive(Debug, Default)]
pub(crate) struct Grouper {
    /// BTreeMap so studies come out sorted by UID.
    studies: BTreeMap<String, StudyAcc>,
    seen_sop: HashSet<String>,
    instances: usize,
}

#[derive(Debug)]
struct StudyAcc {
    patient: ImportedPatient,
    accession_number: Option<String>,
    study_date: Option<chrono::NaiveDate>,
    study_time: Option<String>,
    description: Option<String>,
    series: BTreeMap<String, ImportedSeries>,
}

/// Keeps `slot` if set, otherwise takes `value`.
fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

impl Grouper {
    /// Adds one instance; returns false when its SOPInstanceUID was already
    /// counted (the same image copied into two folders).
    pub(crate) fn add(&mut self, rec: InstanceRecord) -> bool {
        if let Some(uid) = &rec.sop_instance_uid {
            if !self.seen_sop.insert(uid.clone()) {
                return false;
            }
        }
        self.instances += 1;

        let study = self
            .studies
            .entry(rec.study_uid)
            .or_insert_with(|| StudyAcc {
                patient: rec.patient.clone(),
                accession_number: None,
                study_date: None,
                study_time: None,
                description: None,
                series: BTreeMap::new(),
            });
        // Patient identity comes from the first instance; only gaps are filled.
        fill(&mut study.patient.issuer, rec.patient.issuer);
        fill(&mut study.patient.birth_date, rec.patient.birth_date);
        fill(&mut study.patient.sex, rec.patient.sex);
        fill(&mut study.accession_number, rec.accession_number);
        fill(&mut study.study_date, rec.study_date);
        fill(&mut study.study_time, rec.study_time);
        fill(&mut study.description, rec.study_description);

        let series = study
            .series
            .entry(rec.series_uid.clone())
            .or_insert_with(|| ImportedSeries {
                series_uid: rec.series_uid,
                modality: None,
                description: None,
                number: None,
                instance_count: 0,
            });
        fill(&mut series.modality, rec.modality);
        fill(&mut series.description, rec.series_description);
        fill(&mut series.number, rec.series_number);
        series.instance_count += 1;
        true
    }

    /// Distinct instances added so far.
    pub(crate) fn instances(&self) -> usize {
        self.instances
    }

    pub(crate) fn finish(self) -> Vec<ImportedStudy> {
        self.studies
            .into_iter()
            .map(|(study_uid, acc)| {
                let mut series: Vec<ImportedSeries> = acc.series.into_values().collect();
                // Numbered series first in number order, unnumbered last;
                // the UID breaks ties so the order is total.
                series.sort_by(|a, b| {
                    (a.number.is_none(), a.number, &a.series_uid).cmp(&(
                        b.number.is_none(),
                        b.number,
                        &b.series_uid,
                    ))
                });
                let modalities: Vec<String> = series
                    .iter()
                    .filter_map(|s| s.modality.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                ImportedStudy {
                    study_uid,
                    patient: acc.patient,
                    accession_number: acc.accession_number,
                    study_date: acc.study_date,
                    study_time: acc.study_time,
                    description: acc.description,
                    modalities,
                    series,
                }
            })
            .collect()
    }
}
