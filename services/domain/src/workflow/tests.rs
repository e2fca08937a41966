use super::*;
use crate::command::{RequestMediaData, Requester, RequesterData};
use crate::enums::{RequesterType, Role, Urgency};
use crate::identity::DocumentInput;

fn admin() -> Actor {
    Actor {
        username: "admin1".into(),
        role: Role::Admin,
        active: true,
    }
}

fn state(status: Status) -> Distribution {
    Distribution {
        id: 7,
        status,
        slip_version: 1,
        patient_ic: Some(Mykad::parse("850612-14-5523", "ic").unwrap()),
        patient_passport: None,
        patient_name: "Synthetic^Patient".into(),
        collected_at: None,
        handed_over_by: None,
        deleted: false,
    }
}

fn collector(relationship: Relationship, ic: &str, authority: Option<&str>) -> Collector {
    Collector {
        name: "Synthetic Collector".into(),
        document: IdentityDocument::Mykad {
            number: Mykad::parse(ic, "ic").unwrap(),
        },
        relationship,
        relationship_other: None,
        authority_reference: authority.map(String::from),
    }
}

fn handover(c: Collector) -> Command {
    Command::Handover {
        collector: c,
        document_seen: true,
        slip_presented: true,
        note: None,
    }
}

fn all_commands() -> Vec<Command> {
    vec![
        Command::StartPreparing,
        Command::MarkReady {
            storage_location: "Shelf B2".into(),
        },
        handover(collector(Relationship::SelfCollect, "850612145523", None)),
        Command::Cancel {
            reason: "patient changed mind".into(),
        },
    ]
}

fn run(status: Status, cmd: &Command) -> Result<Status, ReasonCode> {
    decide(&state(status), cmd, &admin(), &HandoverPolicy::default())
        .map(|evs| evs.last().unwrap().status_after(status))
        .map_err(|r| r.code)
}

#[test]
fn every_transition_of_the_matrix() {
    use Status::*;
    // Rows: from-status; columns: start, ready, handover, cancel.
    let expected: [(Status, [Result<Status, ReasonCode>; 4]); 5] = [
        (
            Requested,
            [
                Ok(Preparing),
                Err(ReasonCode::IllegalTransition),
                Err(ReasonCode::NotReady),
                Ok(Cancelled),
            ],
        ),
        (
            Preparing,
            [
                Err(ReasonCode::IllegalTransition),
                Ok(Ready),
                Err(ReasonCode::NotReady),
                Ok(Cancelled),
            ],
        ),
        (
            Ready,
            [
                Err(ReasonCode::IllegalTransition),
                Err(ReasonCode::IllegalTransition),
                Ok(Collected),
                Ok(Cancelled),
            ],
        ),
        (Collected, [Err(ReasonCode::AlreadyCollected); 4]),
        (Cancelled, [Err(ReasonCode::AlreadyCancelled); 4]),
    ];
    let cmds = all_commands();
    for (from, row) in expected {
        for (cmd, want) in cmds.iter().zip(row) {
            assert_eq!(run(from, cmd), want, "{from} + {cmd:?}");
        }
    }
}

#[test]
fn already_collected_says_when_and_by_whom() {
    let mut s = state(Status::Collected);
    s.collected_at = Some("2026-12-01T09:30:00Z".parse().unwrap());
    s.handed_over_by = Some("reception1".into());
    let r = decide(
        &s,
        &Command::StartPreparing,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        r.message,
        "MD-000007 was already collected on 2026-12-01 09:30 UTC, handed over by reception1"
    );
}

#[test]
fn roles_are_checked_before_the_state() {
    let clerk = Actor {
        username: "c".into(),
        role: Role::Clerk,
        active: true,
    };
    for cmd in all_commands() {
        let r = decide(
            &state(Status::Ready),
            &cmd,
            &clerk,
            &HandoverPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(r.code, ReasonCode::Forbidden, "{cmd:?}");
    }
    let radiographer = Actor {
        username: "r".into(),
        role: Role::Radiographer,
        active: true,
    };
    let ok = decide(
        &state(Status::Requested),
        &Command::StartPreparing,
        &radiographer,
        &HandoverPolicy::default(),
    );
    assert_eq!(ok.unwrap(), vec![Event::PreparationStarted]);
    let reception = Actor {
        username: "d".into(),
        role: Role::Reception,
        active: true,
    };
    let r = decide(
        &state(Status::Ready),
        &Command::Cancel { reason: "x".into() },
        &reception,
        &HandoverPolicy::default(),
    );
    assert_eq!(r.unwrap_err().code, ReasonCode::Forbidden);
}

#[test]
fn ready_needs_a_storage_location_and_cancel_a_reason() {
    let r = decide(
        &state(Status::Preparing),
        &Command::MarkReady {
            storage_location: " ".into(),
        },
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        (r.code, r.field.as_deref()),
        (ReasonCode::InvalidField, Some("storage_location"))
    );
    let r = decide(
        &state(Status::Ready),
        &Command::Cancel { reason: "".into() },
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        (r.code, r.field.as_deref()),
        (ReasonCode::InvalidField, Some("reason"))
    );
}

#[test]
fn self_collection_must_match_the_patient_ic() {
    let p = HandoverPolicy::default();
    let ok = decide(
        &state(Status::Ready),
        &handover(collector(Relationship::SelfCollect, "850612-14-5523", None)),
        &admin(),
        &p,
    );
    assert!(matches!(
        ok.unwrap()[0],
        Event::Collected {
            slip_presented: true,
            ..
        }
    ));
    let wrong = decide(
        &state(Status::Ready),
        &handover(collector(Relationship::SelfCollect, "900101-01-1235", None)),
        &admin(),
        &p,
    );
    assert_eq!(wrong.unwrap_err().code, ReasonCode::IdentityMismatch);
    let mut passport_self = collector(Relationship::SelfCollect, "850612145523", None);
    passport_self.document = IdentityDocument::Passport {
        passport: PassportNo::parse("SGP", "A1234567", "p").unwrap(),
    };
    assert_eq!(
        decide(
            &state(Status::Ready),
            &handover(passport_self),
            &admin(),
            &p
        )
        .unwrap_err()
        .code,
        ReasonCode::IdentityMismatch
    );
}

#[test]
fn a_foreign_patient_collects_with_the_passport_on_record() {
    let mut s = state(Status::Ready);
    s.patient_ic = None;
    s.patient_passport = Some(PassportNo::parse("IDN", "B1234567", "p").unwrap());
    let mut c = collector(Relationship::SelfCollect, "850612145523", None);
    c.document = IdentityDocument::Passport {
        passport: PassportNo::parse("idn", "b1234567", "p").unwrap(),
    };
    assert!(decide(
        &s,
        &handover(c.clone()),
        &admin(),
        &HandoverPolicy::default()
    )
    .is_ok());
    c.document = IdentityDocument::Passport {
        passport: PassportNo::parse("IDN", "B7654321", "p").unwrap(),
    };
    assert_eq!(
        decide(&s, &handover(c), &admin(), &HandoverPolicy::default())
            .unwrap_err()
            .code,
        ReasonCode::IdentityMismatch
    );
}

#[test]
fn others_need_an_authority_letter_unless_policy_says_otherwise() {
    let son = collector(Relationship::Child, "900101-01-1235", None);
    let strict = HandoverPolicy::default();
    let r = decide(
        &state(Status::Ready),
        &handover(son.clone()),
        &admin(),
        &strict,
    )
    .unwrap_err();
    assert_eq!(r.code, ReasonCode::AuthorityRequired);
    let lenient = HandoverPolicy {
        authority_required_for_others: false,
    };
    // The rule that applied travels with the event into the audit trail.
    let events = decide(&state(Status::Ready), &handover(son), &admin(), &lenient).unwrap();
    assert!(matches!(
        events[0],
        Event::Collected {
            authority_required_for_others: false,
            ..
        }
    ));
    let with_letter = collector(
        Relationship::Child,
        "900101-01-1235",
        Some("CONSENT-2026-0042"),
    );
    assert!(decide(
        &state(Status::Ready),
        &handover(with_letter),
        &admin(),
        &strict
    )
    .is_ok());
}

#[test]
fn the_document_must_be_seen() {
    let cmd = Command::Handover {
        collector: collector(Relationship::SelfCollect, "850612145523", None),
        document_seen: false,
        slip_presented: false,
        note: None,
    };
    let r = decide(
        &state(Status::Ready),
        &cmd,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(r.code, ReasonCode::DocumentNotSeen);
}

#[test]
fn evolve_follows_the_events() {
    let at: DateTime<Utc> = "2026-12-03T10:00:00Z".parse().unwrap();
    let mut s = state(Status::Requested);
    for cmd in [
        Command::StartPreparing,
        Command::MarkReady {
            storage_location: "B2".into(),
        },
        handover(collector(Relationship::SelfCollect, "850612145523", None)),
    ] {
        for e in decide(&s, &cmd, &admin(), &HandoverPolicy::default()).unwrap() {
            s = evolve(s, &e, "admin1", at);
        }
    }
    assert_eq!(s.status, Status::Collected);
    assert_eq!(
        (s.collected_at, s.handed_over_by.as_deref()),
        (Some(at), Some("admin1"))
    );
}

fn new_request(uids: &[&str], media: &str) -> RequestMedia {
    RequestMediaData {
        study_uids: uids.iter().map(|s| s.to_string()).collect(),
        media_type: media.into(),
        quantity: 1,
        urgency: "NORMAL".into(),
        requester: RequesterData {
            kind: "PATIENT".into(),
            name: None,
            organisation: None,
            reference: None,
            contact: None,
        },
        comments: None,
        actor: "clerk1".into(),
    }
    .validate()
    .unwrap()
}

fn facts(uid: &str, patient: i64) -> StudyFacts {
    StudyFacts {
        uid: StudyUid::parse(uid, "u").unwrap(),
        patient_id: patient,
    }
}

#[test]
fn request_rules() {
    let clerk = Actor {
        username: "clerk1".into(),
        role: Role::Clerk,
        active: true,
    };
    let known = [facts("1.1", 1), facts("1.2", 1), facts("2.1", 2)];
    let ev = decide_request(&new_request(&["1.1", "1.2"], "CD"), &clerk, &known, &[]).unwrap();
    match ev {
        Event::Requested {
            study_uids,
            media_type,
            urgency,
            requester: Requester { kind, .. },
            ..
        } => {
            assert_eq!(study_uids.len(), 2);
            assert_eq!(
                (media_type, urgency, kind),
                (MediaType::Cd, Urgency::Normal, RequesterType::Patient)
            );
        }
        other => panic!("{other:?}"),
    }
    let r = decide_request(&new_request(&["1.1", "2.1"], "CD"), &clerk, &known, &[]).unwrap_err();
    assert_eq!(r.code, ReasonCode::StudiesOfDifferentPatients);
    let r = decide_request(&new_request(&["9.9"], "CD"), &clerk, &known, &[]).unwrap_err();
    assert_eq!(r.code, ReasonCode::UnknownStudy);
    let radiographer = Actor {
        username: "r".into(),
        role: Role::Radiographer,
        active: true,
    };
    let r = decide_request(&new_request(&["1.1"], "CD"), &radiographer, &known, &[]).unwrap_err();
    assert_eq!(r.code, ReasonCode::Forbidden);
}

#[test]
fn same_study_same_media_is_refused_other_media_allowed() {
    let clerk = Actor {
        username: "clerk1".into(),
        role: Role::Clerk,
        active: true,
    };
    let known = [facts("1.1", 1)];
    let active = [ActiveRequest {
        study_uid: StudyUid::parse("1.1", "u").unwrap(),
        media_type: MediaType::Cd,
        distribution_id: 12,
    }];
    let r = decide_request(&new_request(&["1.1"], "CD"), &clerk, &known, &active).unwrap_err();
    assert_eq!(r.code, ReasonCode::DuplicateActiveRequest);
    assert!(r.message.contains("MD-000012"), "{}", r.message);
    assert!(decide_request(&new_request(&["1.1"], "XRAY_FILM"), &clerk, &known, &active).is_ok());
}

#[test]
fn collector_document_input_round_trip() {
    // A relationship and document as a kiosk sends them.
    let c = crate::command::CollectorData {
        name: "Son".into(),
        document: DocumentInput {
            kind: "MYKAD".into(),
            number: "900101-01-1235".into(),
            ..Default::default()
        },
        relationship: "child".into(),
        relationship_other: None,
        authority_reference: Some("CONSENT-1".into()),
    }
    .validate()
    .unwrap();
    assert_eq!(c.relationship, Relationship::Child);
}

#[test]
fn reprint_bumps_the_slip_version_until_the_request_is_final() {
    let ev = decide(
        &state(Status::Ready),
        &Command::Reprint,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap();
    assert_eq!(ev, vec![Event::SlipReissued { slip_version: 2 }]);
    let s = evolve(state(Status::Ready), &ev[0], "admin1", Utc::now());
    assert_eq!((s.slip_version, s.status), (2, Status::Ready));
    assert_eq!(
        run(Status::Collected, &Command::Reprint),
        Err(ReasonCode::AlreadyCollected)
    );
    let radiographer = Actor {
        username: "r".into(),
        role: Role::Radiographer,
        active: true,
    };
    let r = decide(
        &state(Status::Ready),
        &Command::Reprint,
        &radiographer,
        &HandoverPolicy::default(),
    );
    assert_eq!(r.unwrap_err().code, ReasonCode::Forbidden);
}

#[test]
fn update_changes_quantity_only_while_requested() {
    let q = crate::values::Quantity::new(3, "quantity").unwrap();
    let both = Command::Update {
        changes: Changes {
            quantity: Some(q),
            urgency: Some(Urgency::Stat),
            comments: None,
        },
    };
    assert_eq!(run(Status::Requested, &both), Ok(Status::Requested));
    let r = decide(
        &state(Status::Preparing),
        &both,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        (r.code, r.field.as_deref()),
        (ReasonCode::IllegalTransition, Some("quantity"))
    );
    let urgency = Command::Update {
        changes: Changes {
            urgency: Some(Urgency::Stat),
            ..Default::default()
        },
    };
    assert_eq!(run(Status::Ready, &urgency), Ok(Status::Ready));
    assert_eq!(
        run(Status::Cancelled, &urgency),
        Err(ReasonCode::AlreadyCancelled)
    );
    let nothing = Command::Update {
        changes: Changes::default(),
    };
    assert_eq!(
        run(Status::Requested, &nothing),
        Err(ReasonCode::InvalidField)
    );
}

#[test]
fn delete_is_admin_only_needs_a_reason_and_ends_everything() {
    let del = Command::Delete {
        reason: "entered for the wrong patient".into(),
    };
    for from in Status::ALL {
        assert_eq!(run(*from, &del), Ok(*from), "{from}");
    }
    let clerk = Actor {
        username: "c".into(),
        role: Role::Clerk,
        active: true,
    };
    assert_eq!(
        decide(
            &state(Status::Requested),
            &del,
            &clerk,
            &HandoverPolicy::default()
        )
        .unwrap_err()
        .code,
        ReasonCode::Forbidden
    );
    let blank = Command::Delete { reason: " ".into() };
    assert_eq!(
        run(Status::Requested, &blank),
        Err(ReasonCode::InvalidField)
    );
    let ev = decide(
        &state(Status::Requested),
        &del,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap();
    let gone = evolve(state(Status::Requested), &ev[0], "admin1", Utc::now());
    assert!(gone.deleted);
    let r = decide(
        &gone,
        &Command::StartPreparing,
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(
        (r.code, r.message.as_str()),
        (ReasonCode::NotFound, "MD-000007 was deleted")
    );
}

#[test]
fn with_no_document_on_record_self_collection_needs_the_name_on_record() {
    let mut s = state(Status::Ready);
    s.patient_ic = None;
    s.patient_name = "Doe^Peter".into();
    let mut c = collector(Relationship::SelfCollect, "850612145523", None);
    c.name = "Mallory Stranger".into();
    let refused = decide(
        &s,
        &handover(c.clone()),
        &admin(),
        &HandoverPolicy::default(),
    )
    .unwrap_err();
    assert_eq!(refused.code, ReasonCode::IdentityMismatch);
    assert!(
        refused.message.contains("authority letter"),
        "{}",
        refused.message
    );
    c.name = "peter DOE".into();
    assert_eq!(
        run_with(&s, &handover(c)),
        Ok(Status::Collected),
        "the patient's own name, in any order and case"
    );
}

fn run_with(s: &Distribution, cmd: &Command) -> Result<Status, ReasonCode> {
    decide(s, cmd, &admin(), &HandoverPolicy::default())
        .map(|evs| evs.last().unwrap().status_after(s.status))
        .map_err(|r| r.code)
}
