//! The model of what a run sends: synthetic patients and studies, and for
//! each lifecycle the commands in order and the audit trail they must leave.

use chrono::{Duration as Days, NaiveDate};
use mediadist_domain::catalog::CommandType;
use rand::Rng;
use serde_json::{json, Value};

/// Where a lifecycle ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Collected,
    /// Cancelled after this many workflow steps (0 = straight after the
    /// request, 1 = while PREPARING, 2 = while READY).
    CancelledAfter(u8),
}

impl Ending {
    /// Roughly one lifecycle in five is cancelled, at any stage.
    pub fn pick(rng: &mut impl Rng) -> Ending {
        match rng.gen_range(0..20) {
            0 | 1 => Ending::CancelledAfter(0),
            2 => Ending::CancelledAfter(1),
            3 => Ending::CancelledAfter(2),
            _ => Ending::Collected,
        }
    }

    pub fn final_status(self) -> &'static str {
        match self {
            Ending::Collected => "COLLECTED",
            Ending::CancelledAfter(_) => "CANCELLED",
        }
    }

    /// The audit rows the lifecycle must leave, in order.
    pub fn audit(self) -> Vec<&'static str> {
        let steps = ["requested", "preparing", "ready", "collected"];
        match self {
            Ending::Collected => steps.to_vec(),
            Ending::CancelledAfter(n) => {
                let mut v = steps[..=n as usize].to_vec();
                v.push("cancelled");
                v
            }
        }
    }
}

/// A valid synthetic MyKad for patient `n`: a real date, a Malaysian place
/// code, and `n` in the serial so every patient's differs.
pub fn synthetic_mykad(n: u64) -> String {
    let base = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap_or_default();
    let born = base + Days::days((n % 18_000) as i64);
    let place = [1, 5, 10, 14, 21, 30, 45, 59][(n / 18_000 % 8) as usize];
    format!("{}-{place:02}-{:04}", born.format("%y%m%d"), n % 10_000)
}

pub fn study_uid(run: &str, n: u64) -> String {
    // A UID root for synthetic data, then the run and the study number.
    let run_digits: String = run.bytes().map(|b| (b % 10).to_string()).take(8).collect();
    format!("2.25.{run_digits}.{n}")
}

pub fn register(run: &str, n: u64) -> Value {
    let uid = study_uid(run, n);
    json!({
        "patient": { "mrn": format!("PRF{n:07}"), "name": format!("Synthetic^Proof{n}"), "ic": synthetic_mykad(n) },
        "study": { "uid": uid, "accession_number": format!("PA{n}"), "study_date": "2026-12-01", "modalities": ["CT"] },
        "examinations": [{ "series_uid": format!("{uid}.1"), "modality": "CT", "instance_count": 64 }]
    })
}

pub fn request(run: &str, n: u64, urgency: &str) -> Value {
    json!({
        "study_uids": [study_uid(run, n)], "media_type": "CD", "quantity": 1, "urgency": urgency,
        "requester": { "type": "PATIENT" }, "actor": "clerk1"
    })
}

/// The command for workflow step `step` (1 start, 2 ready, 3 handover) on
/// the slip `token`, collected by the patient `n` with their own MyKad.
pub fn step(step: u8, token: &str, n: u64) -> (CommandType, Value) {
    let target = json!({ "token": token });
    match step {
        1 => (
            CommandType::StartPreparing,
            json!({ "target": target, "actor": "rad1" }),
        ),
        2 => (
            CommandType::MarkReady,
            json!({ "target": target, "storage_location": format!("Shelf {}", n % 40), "actor": "rad1" }),
        ),
        _ => (
            CommandType::Handover,
            json!({
                "target": target,
                "collector": { "name": format!("Synthetic Proof{n}"), "document": { "type": "MYKAD", "number": synthetic_mykad(n) }, "relationship": "SELF" },
                "document_seen": true, "actor": "desk1"
            }),
        ),
    }
}

pub fn cancel(id: i64) -> Value {
    json!({ "target": { "distribution_id": id }, "reason": "patient changed their mind", "actor": "admin1" })
}

/// The staff every run needs.
pub const STAFF: [(&str, &str); 4] = [
    ("clerk1", "CLERK"),
    ("rad1", "RADIOGRAPHER"),
    ("desk1", "RECEPTION"),
    ("admin1", "ADMIN"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use mediadist_domain::Mykad;

    #[test]
    fn synthetic_mykads_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for n in (0..200_000).step_by(997) {
            let ic = synthetic_mykad(n);
            assert!(Mykad::parse(&ic, "ic").is_ok(), "{ic} should be valid");
            assert!(seen.insert(ic));
        }
    }

    #[test]
    fn audit_trails_follow_the_ending() {
        assert_eq!(
            Ending::Collected.audit(),
            ["requested", "preparing", "ready", "collected"]
        );
        assert_eq!(
            Ending::CancelledAfter(0).audit(),
            ["requested", "cancelled"]
        );
        assert_eq!(
            Ending::CancelledAfter(2).audit(),
            ["requested", "preparing", "ready", "cancelled"]
        );
    }
}
