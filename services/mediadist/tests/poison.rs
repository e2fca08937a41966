//! Poison: a corpus of malformed commands, generated from tables, published
//! raw to the commands exchange the way a producer would (reply_to and a
//! correlation id), against the real workers.
//!
//! Every input has one exact fate, asserted one by one: dead-lettered with
//! the reason in `x-mediadist-reason` (the message unchanged, at its first
//! delivery, exactly once), or answered `rejected` with the right reason code
//! and field. Nothing the corpus sends may change a row: the whole database
//! is compared before and after, including three distributions seeded in
//! REQUESTED, PREPARING and READY that the corpus aims at. The well-formed
//! commands every mutation started from are sent last and must be accepted,
//! so each mutation was the one thing wrong with its input.

mod common;

use common::TestEnv;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Connection};
use mediadist_domain::catalog::{CommandType, Stage};
use mediadist_domain::envelope::MAX_MESSAGE_BYTES;
use mediadist_domain::reply::{Outcome, Reply};
use mediadist_domain::{ReasonCode, Reference, SlipKey, Status};
use mediadist_platform::config::DEV_SLIP_KEY;
use mediadist_platform::{amqp, Config};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);
const REPLY_TO: &str = "amq.rabbitmq.reply-to";

/// The seeded patient's (synthetic) MyKad, as typed and as stored.
const PATIENT_IC: &str = "900101-14-1235";
const PATIENT_IC_DIGITS: &str = "900101141235";
const UID_A1: &str = "1.2.826.0.1.3680043.10.5001";
const UID_A2: &str = "1.2.826.0.1.3680043.10.5002";
/// Registered, with no request: the request template asks for it.
const UID_A3: &str = "1.2.826.0.1.3680043.10.5003";
const UID_B1: &str = "1.2.826.0.1.3680043.10.5101";
/// Not registered: the register template registers it.
const UID_NEW: &str = "1.2.826.0.1.3680043.10.5999";
const NO_SUCH_ID: i64 = 999_999;

// ---------------------------------------------------------------------------
// What each input must come to.

#[derive(Debug, Clone)]
enum Fate {
    /// Dead-lettered; the reason is `text` exactly, or starts with `text`
    /// and contains each of `contains`.
    Dead {
        text: String,
        exact: bool,
        contains: Vec<String>,
    },
    /// Answered `rejected` with this code (and field, and words in the
    /// message, and the distribution the answer names).
    Rejected {
        code: ReasonCode,
        field: Option<String>,
        contains: Option<String>,
        distribution: Option<i64>,
    },
}

impl Fate {
    fn is_dead(&self) -> bool {
        matches!(self, Fate::Dead { .. })
    }
}

fn dead_exact(reason: impl Into<String>) -> Fate {
    Fate::Dead {
        text: reason.into(),
        exact: true,
        contains: vec![],
    }
}

fn dead_prefix(prefix: impl Into<String>, contains: &[&str]) -> Fate {
    Fate::Dead {
        text: prefix.into(),
        exact: false,
        contains: contains.iter().map(|s| s.to_string()).collect(),
    }
}

fn not_json(contains: &[&str]) -> Fate {
    dead_prefix("message is not UTF-8 JSON: ", contains)
}

fn bad_attribute(why: &str) -> Fate {
    dead_exact(format!("not a CloudEvents 1.0 envelope: {why}"))
}

fn unknown_type(kind: &str) -> Fate {
    dead_exact(format!("unknown command type '{kind}'"))
}

/// The command's data does not fit its shape (the worker's `data()`).
fn misfit(c: CommandType, contains: &[&str]) -> Fate {
    dead_prefix(
        format!("data of {} does not fit: ", c.type_name()),
        contains,
    )
}

fn too_large(len: usize) -> Fate {
    dead_exact(format!(
        "message is {len} bytes, more than the {MAX_MESSAGE_BYTES} allowed"
    ))
}

fn rejected(
    code: ReasonCode,
    field: Option<&str>,
    contains: Option<&str>,
    distribution: Option<i64>,
) -> Fate {
    Fate::Rejected {
        code,
        field: field.map(String::from),
        contains: contains.map(String::from),
        distribution,
    }
}

fn invalid(field: &str, contains: &str, distribution: Option<i64>) -> Fate {
    rejected(
        ReasonCode::InvalidField,
        Some(field),
        Some(contains),
        distribution,
    )
}

// ---------------------------------------------------------------------------
// The seeded world and the well-formed commands the corpus mutates.

struct Seeded {
    key: SlipKey,
    /// REQUESTED (CD of A1): target of cancel, update, delete, start-preparing.
    req: i64,
    /// PREPARING (DVD of A1): target of mark-ready and reprint.
    prep: i64,
    /// READY (CD of A2): target of handover.
    ready: i64,
}

impl Seeded {
    fn token(&self, id: i64) -> String {
        self.key.sign(id, 1).to_string()
    }

    /// The distribution a transition command's template targets.
    fn target_of(&self, c: CommandType) -> i64 {
        match c {
            CommandType::MarkReady | CommandType::ReprintSlip => self.prep,
            CommandType::Handover => self.ready,
            _ => self.req,
        }
    }
}

/// A well-formed command of each type; sent as is, each is accepted (the
/// test ends by proving it).
fn template(s: &Seeded, c: CommandType) -> Value {
    match c {
        CommandType::RegisterStudy => json!({
            "patient": { "mrn": "SYN59999", "name": "Synthetic^Template", "ic": "850612-14-5523",
                         "birth_date": "1985-06-12", "sex": "F" },
            "study": { "uid": UID_NEW, "accession_number": "ACC5999", "study_date": "2026-12-01",
                       "description": "CT Thorax", "modalities": ["CT"] },
            "examinations": [{ "series_uid": format!("{UID_NEW}.1"), "modality": "CT", "instance_count": 120 }]
        }),
        CommandType::RequestMedia => json!({
            "study_uids": [UID_A3], "media_type": "CD", "quantity": 1, "urgency": "NORMAL",
            "requester": { "type": "PATIENT" }, "comments": "for the surgeon", "actor": "clerk1"
        }),
        CommandType::Cancel => json!({
            "target": { "distribution_id": s.req }, "reason": "patient changed mind", "actor": "admin1"
        }),
        CommandType::StartPreparing => json!({
            "target": { "token": s.token(s.req) }, "actor": "rad1"
        }),
        CommandType::MarkReady => json!({
            "target": { "token": s.token(s.prep) }, "storage_location": "Shelf P1", "actor": "rad1"
        }),
        CommandType::Handover => json!({
            "target": { "token": s.token(s.ready) },
            "collector": { "name": "Synthetic Alpha", "document": { "type": "MYKAD", "number": PATIENT_IC },
                           "relationship": "SELF" },
            "document_seen": true, "actor": "desk1"
        }),
        CommandType::ReprintSlip => json!({
            "target": { "distribution_id": s.prep }, "actor": "desk1"
        }),
        CommandType::Update => json!({
            "target": { "distribution_id": s.req }, "quantity": 2, "actor": "clerk1"
        }),
        CommandType::Delete => json!({
            "target": { "distribution_id": s.req }, "reason": "entered in error", "actor": "admin1"
        }),
    }
}

fn envelope(id: &str, c: CommandType, data: Value) -> Value {
    json!({
        "specversion": "1.0", "id": id, "source": "poison-test", "type": c.type_name(),
        "time": "2026-12-01T08:00:00Z", "datacontenttype": "application/json", "data": data
    })
}

/// The command's name inside its type and routing key (`handover`).
fn short(c: CommandType) -> String {
    let key = c.routing_key();
    key.split_once('.')
        .map(|(_, s)| s.to_string())
        .unwrap_or(key)
}

/// `v` with the value at JSON pointer `path` replaced or added (`Some`),
/// or removed (`None`).
fn edit(mut v: Value, path: &str, new: Option<Value>) -> Value {
    let (parent, key) = path.rsplit_once('/').expect("a JSON pointer");
    let slot = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("the template has no {parent:?} (editing {path})"));
    match slot {
        Value::Object(m) => match new {
            Some(n) => {
                m.insert(key.to_string(), n);
            }
            None => {
                m.remove(key)
                    .unwrap_or_else(|| panic!("the template has no {path}"));
            }
        },
        Value::Array(a) => {
            let i: usize = key.parse().expect("an array index");
            match new {
                Some(n) => a[i] = n,
                None => {
                    a.remove(i);
                }
            }
        }
        _ => panic!("{parent} is neither an object nor an array"),
    }
    v
}

/// JSON text of `v` with the string `"__RAW__"` replaced by `raw` (numbers
/// serde_json cannot hold, e.g. 1e400).
fn with_raw(v: &Value, raw: &str) -> Vec<u8> {
    let text = v.to_string();
    assert!(text.contains("\"__RAW__\""), "no __RAW__ marker in {text}");
    text.replace("\"__RAW__\"", raw).into_bytes()
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

// ---------------------------------------------------------------------------
// The corpus.

struct Case {
    /// Message id and (unless the case breaks it) CloudEvents id.
    id: String,
    what: String,
    routing_key: String,
    body: Vec<u8>,
    fate: Fate,
}

#[derive(Default)]
struct Corpus {
    cases: Vec<Case>,
}

impl Corpus {
    /// An input whose bytes are built from its id.
    fn raw(
        &mut self,
        what: impl Into<String>,
        routing_key: impl Into<String>,
        body: impl FnOnce(&str) -> Vec<u8>,
        fate: Fate,
    ) {
        let id = format!("poison-{:04}", self.cases.len());
        let body = body(&id);
        self.cases.push(Case {
            id,
            what: what.into(),
            routing_key: routing_key.into(),
            body,
            fate,
        });
    }

    /// A CloudEvents envelope of `c` (changed by `envelope_edit`) with `data`,
    /// published under `c`'s own routing key.
    fn command(
        &mut self,
        what: impl Into<String>,
        c: CommandType,
        data: Value,
        envelope_edit: impl FnOnce(Value) -> Value,
        fate: Fate,
    ) {
        self.raw(
            what,
            c.routing_key(),
            |id| serde_json::to_vec(&envelope_edit(envelope(id, c, data))).expect("serialisable"),
            fate,
        );
    }

    /// A well-formed envelope of `c` with `data`.
    fn data(&mut self, what: impl Into<String>, c: CommandType, data: Value, fate: Fate) {
        self.command(what, c, data, |e| e, fate);
    }
}

const TRANSITIONS: [CommandType; 7] = [
    CommandType::Cancel,
    CommandType::StartPreparing,
    CommandType::MarkReady,
    CommandType::Handover,
    CommandType::ReprintSlip,
    CommandType::Update,
    CommandType::Delete,
];

/// How a bad slip token is refused.
#[derive(Clone, Copy)]
enum TokenFate {
    Malformed,
    Forged,
    Superseded,
    Nowhere,
}

fn token_fate(f: TokenFate) -> Fate {
    match f {
        TokenFate::Malformed => rejected(
            ReasonCode::TokenInvalid,
            None,
            Some("this is not a mediadist slip code"),
            None,
        ),
        TokenFate::Forged => rejected(
            ReasonCode::TokenInvalid,
            None,
            Some("the slip code's signature is wrong: the slip is forged or damaged"),
            None,
        ),
        TokenFate::Superseded => rejected(
            ReasonCode::TokenSuperseded,
            None,
            Some("this slip was replaced by a reprint"),
            None,
        ),
        TokenFate::Nowhere => rejected(
            ReasonCode::TokenInvalid,
            None,
            Some("this slip belongs to no request here"),
            None,
        ),
    }
}

/// Broken, forged and stale slips for distribution `id`.
fn bad_tokens(key: &SlipKey, id: i64) -> Vec<(&'static str, String, TokenFate)> {
    use TokenFate::*;
    let t = key.sign(id, 1).to_string();
    let (head, mac) = t.rsplit_once('-').expect("MD1-<id>-<v>-<mac>");
    let flip = |c: char| if c == 'A' { 'B' } else { 'A' };
    let mut last = t.clone();
    let c = last.pop().expect("non-empty");
    last.push(flip(c));
    let first = format!(
        "{head}-{}{}",
        flip(mac.chars().next().expect("mac")),
        &mac[1..]
    );
    #[rustfmt::skip]
    let tokens = vec![
        ("last MAC character changed", last, Forged),
        ("first MAC character changed", first, Forged),
        ("distribution id changed, MAC kept", format!("MD1-{}-1-{mac}", id + 1), Forged),
        ("slip version changed, MAC kept", format!("MD1-{id}-2-{mac}"), Forged),
        ("a MAC character outside base32", format!("{head}-{}1", &mac[..15]), Forged),
        ("signed with another site's key", SlipKey::new(b"another-hospital").sign(id, 1).to_string(), Forged),
        ("signed with the development key", SlipKey::new(DEV_SLIP_KEY.as_bytes()).sign(id, 1).to_string(), Forged),
        ("last character cut off", t[..t.len() - 1].to_string(), Malformed),
        ("cut in half", t[..t.len() / 2].to_string(), Malformed),
        ("prefix MD2", t.replacen("MD1", "MD2", 1), Malformed),
        ("prefix MD0", t.replacen("MD1", "MD0", 1), Malformed),
        ("a space in the MAC", format!("{head}-{} {}", &mac[..8], &mac[8..]), Malformed),
        ("an extra segment", format!("{t}-A"), Malformed),
        ("scanned twice into one line", format!("{t}{t}"), Malformed),
        ("empty", String::new(), Malformed),
        ("blank", "   ".into(), Malformed),
        ("the short reference typed as a token", Reference::from_id(id).to_string(), Malformed),
        ("negative id", format!("MD1--{id}-1-{mac}"), Malformed),
        ("a letter in the id", format!("MD1-{id}x-1-{mac}"), Malformed),
        ("the largest id, correctly signed", key.sign(i64::MAX, 1).to_string(), Malformed),
        ("a newer slip version, correctly signed", key.sign(id, 2).to_string(), Superseded),
        ("slip version 0, correctly signed", key.sign(id, 0).to_string(), Superseded),
        ("an unknown distribution, correctly signed", key.sign(NO_SUCH_ID, 1).to_string(), Nowhere),
        ("distribution 0, correctly signed", key.sign(0, 1).to_string(), Nowhere),
    ];
    tokens
}

fn corpus(s: &Seeded) -> Vec<Case> {
    let mut k = Corpus::default();
    let all = CommandType::ALL;
    let t = |c| template(s, c);

    // 1. Not JSON at all.
    let garbage: [&[u8]; 14] = [
        b"",
        b" ",
        b"{",
        b"}",
        b"{not json",
        b"{\"specversion\":}",
        b"nul",
        b"[1,2",
        b"<command type=\"handover\"/>",
        b"specversion=1.0&type=handover",
        b"{'specversion':'1.0'}",
        b"{\"specversion\":\"1.0\",}",
        b"\x00",
        b"\xEF\xBB\xBF{}",
    ];
    for (i, g) in garbage.iter().enumerate() {
        let c = all[i % all.len()];
        k.raw(
            format!("garbage {:?}", String::from_utf8_lossy(g)),
            c.routing_key(),
            |_| g.to_vec(),
            not_json(&[]),
        );
    }

    // 2. Truncated JSON: every command cut at five places.
    for c in all {
        for (name, cut) in [
            ("1 byte", 1usize),
            ("a quarter", 4),
            ("half", 2),
            ("three quarters", 0),
            ("all but the last byte", usize::MAX),
        ] {
            k.raw(
                format!("{} truncated to {name}", short(c)),
                c.routing_key(),
                |id| {
                    let full = serde_json::to_vec(&envelope(id, c, t(c))).expect("serialisable");
                    let keep = match cut {
                        1 => 1,
                        usize::MAX => full.len() - 1,
                        0 => full.len() * 3 / 4,
                        n => full.len() / n,
                    };
                    full[..keep].to_vec()
                },
                not_json(&["EOF while parsing"]),
            );
        }
    }

    // 3. Invalid UTF-8 inside an otherwise valid envelope.
    let corruptions: [(&str, &[u8]); 6] = [
        ("byte 0xFF", b"\xFF"),
        ("a 2-byte sequence cut short", b"\xC3x"),
        ("an overlong slash", b"\xC0\xAF"),
        ("an encoded surrogate", b"\xED\xA0\x80"),
        ("a lone continuation byte", b"\x80"),
        ("Latin-1 e-acute", b"\xE9"),
    ];
    for (i, c) in all.into_iter().enumerate() {
        for (name, bad) in corruptions.iter().skip(i % 3).step_by(3) {
            k.raw(
                format!("{} with {name} in source", short(c)),
                c.routing_key(),
                |id| {
                    let text = envelope(id, c, t(c)).to_string();
                    let at = text.find("poison-test").expect("source") + 6;
                    let mut b = text.into_bytes();
                    b.splice(at..at, bad.iter().copied());
                    b
                },
                not_json(&["utf-8"]),
            );
        }
    }
    k.raw(
        "handover encoded as UTF-16LE",
        CommandType::Handover.routing_key(),
        |id| {
            envelope(id, CommandType::Handover, t(CommandType::Handover))
                .to_string()
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes())
                .collect()
        },
        not_json(&[]),
    );

    // 4. JSON that is not an object (an envelope).
    for (i, text) in [
        "[]",
        "[{}]",
        "\"org.mediadist.command.handover.v1\"",
        "42",
        "-0",
        "true",
        "null",
        "1e400",
    ]
    .into_iter()
    .enumerate()
    {
        let c = all[i % all.len()];
        k.raw(
            format!("JSON {text}"),
            c.routing_key(),
            |_| text.as_bytes().to_vec(),
            not_json(&[]),
        );
    }
    for c in all {
        k.raw(
            format!("{} envelope inside an array", short(c)),
            c.routing_key(),
            |id| json!([envelope(id, c, t(c))]).to_string().into_bytes(),
            not_json(&[]),
        );
    }

    // 5. CloudEvents attributes missing or wrong, on every command type.
    type Attr = (&'static str, &'static str, Option<Value>, Fate);
    let id_msg = "id must be 1 to 256 printable characters";
    let source_msg = "source must be 1 to 256 printable characters";
    let data_msg = "data must be a JSON object";
    #[rustfmt::skip]
    let attrs: Vec<Attr> = vec![
        ("no specversion", "/specversion", None, not_json(&["missing field `specversion`"])),
        ("specversion 0.3", "/specversion", Some(json!("0.3")), bad_attribute("specversion '0.3' is not 1.0")),
        ("specversion 2.0", "/specversion", Some(json!("2.0")), bad_attribute("specversion '2.0' is not 1.0")),
        ("empty specversion", "/specversion", Some(json!("")), bad_attribute("specversion '' is not 1.0")),
        ("specversion as a number", "/specversion", Some(json!(1.0)), not_json(&["invalid type: floating point"])),
        ("no id", "/id", None, not_json(&["missing field `id`"])),
        ("empty id", "/id", Some(json!("")), bad_attribute(id_msg)),
        ("257-character id", "/id", Some(json!(long(257))), bad_attribute(id_msg)),
        ("id with a newline", "/id", Some(json!("poison\n1")), bad_attribute(id_msg)),
        ("id as a number", "/id", Some(json!(12345)), not_json(&["invalid type: integer"])),
        ("no source", "/source", None, not_json(&["missing field `source`"])),
        ("empty source", "/source", Some(json!("")), bad_attribute(source_msg)),
        ("source with a control character", "/source", Some(json!("poison\u{7}test")), bad_attribute(source_msg)),
        ("300-character source", "/source", Some(json!(long(300))), bad_attribute(source_msg)),
        ("null source", "/source", Some(Value::Null), not_json(&["invalid type: null"])),
        ("no type", "/type", None, not_json(&["missing field `type`"])),
        ("null type", "/type", Some(Value::Null), not_json(&["invalid type: null"])),
        ("type as a number", "/type", Some(json!(1)), not_json(&["invalid type: integer"])),
        ("empty type", "/type", Some(json!("")), unknown_type("")),
        ("time in words", "/time", Some(json!("yesterday")), not_json(&[])),
        ("time on 30 February", "/time", Some(json!("2026-02-30T08:00:00Z")), not_json(&[])),
        ("time without a clock", "/time", Some(json!("2026-12-01")), not_json(&[])),
        ("time without an offset", "/time", Some(json!("2026-12-01T08:00:00")), not_json(&[])),
        ("time as epoch seconds", "/time", Some(json!(1_764_576_000)), not_json(&[])),
        ("subject as an object", "/subject", Some(json!({"id": 1})), not_json(&["invalid type: map"])),
        ("correlationid as a list", "/correlationid", Some(json!(["a"])), not_json(&["invalid type: sequence"])),
        ("no data", "/data", None, bad_attribute(data_msg)),
        ("null data", "/data", Some(Value::Null), bad_attribute(data_msg)),
        ("data a list", "/data", Some(json!([])), bad_attribute(data_msg)),
        ("data a string", "/data", Some(json!("{\"actor\":\"rad1\"}")), bad_attribute(data_msg)),
        ("data a number", "/data", Some(json!(42)), bad_attribute(data_msg)),
    ];
    for c in all {
        for (name, path, new, fate) in &attrs {
            k.command(
                format!("{}: {name}", short(c)),
                c,
                t(c),
                |e| edit(e, path, new.clone()),
                fate.clone(),
            );
        }
    }

    // 6. Unknown types and versions, under the command's own routing key.
    for c in all {
        let name = c.type_name();
        let base = name.trim_end_matches(".v1").to_string();
        for kind in [
            format!("{base}.v2"),
            format!("{base}.v0"),
            format!("{base}.V1"),
            base.clone(),
            format!("{name}.extra"),
            name.to_uppercase(),
            format!(" {name}"),
        ] {
            let fate = unknown_type(&kind);
            k.command(
                format!("{} typed {kind:?}", short(c)),
                c,
                t(c),
                move |e| edit(e, "/type", Some(json!(kind))),
                fate,
            );
        }
    }
    for (i, kind) in [
        "org.mediadist.command.teleport.v1",
        "org.mediadist.distribution.collected.v1",
        "com.example.command.handover.v1",
        "handover",
    ]
    .into_iter()
    .enumerate()
    {
        let c = all[(i * 4) % all.len()];
        k.command(
            format!("unknown type {kind}"),
            c,
            t(c),
            |e| edit(e, "/type", Some(json!(kind))),
            unknown_type(kind),
        );
    }

    // 7. A valid command published under another stage's routing key.
    for c in all {
        for stage in Stage::ALL.into_iter().filter(|st| *st != c.stage()) {
            k.raw(
                format!("{} routed to {}", short(c), stage.name()),
                format!("{}.{}", stage.name(), short(c)),
                |id| serde_json::to_vec(&envelope(id, c, t(c))).expect("serialisable"),
                dead_exact(format!(
                    "{} does not belong to the {} stage",
                    c.type_name(),
                    stage.name()
                )),
            );
        }
    }

    // 8. Data of the wrong shape.
    #[rustfmt::skip]
    let required: [(CommandType, &[&str]); 9] = [
        (CommandType::RegisterStudy, &["/patient", "/study", "/patient/mrn", "/patient/name", "/study/uid",
            "/examinations/0/series_uid", "/examinations/0/instance_count"]),
        (CommandType::RequestMedia, &["/study_uids", "/media_type", "/quantity", "/requester", "/requester/type", "/actor"]),
        (CommandType::Cancel, &["/target", "/reason", "/actor"]),
        (CommandType::StartPreparing, &["/target", "/actor"]),
        (CommandType::MarkReady, &["/target", "/storage_location", "/actor"]),
        (CommandType::Handover, &["/target", "/collector", "/document_seen", "/actor", "/collector/name",
            "/collector/document", "/collector/relationship", "/collector/document/type", "/collector/document/number"]),
        (CommandType::ReprintSlip, &["/target", "/actor"]),
        (CommandType::Update, &["/target", "/actor"]),
        (CommandType::Delete, &["/target", "/reason", "/actor"]),
    ];
    for (c, paths) in required {
        for path in paths {
            // serde names a renamed field (`kind`) by its wire name (`type`).
            let leaf = path.rsplit('/').next().unwrap_or(path);
            k.data(
                format!("{} without {path}", short(c)),
                c,
                edit(t(c), path, None),
                misfit(c, &[&format!("missing field `{leaf}`")]),
            );
        }
    }
    let nested: [(CommandType, &str); 13] = [
        (CommandType::RegisterStudy, "/colour"),
        (CommandType::RegisterStudy, "/patient/colour"),
        (CommandType::RegisterStudy, "/study/colour"),
        (CommandType::RegisterStudy, "/examinations/0/colour"),
        (CommandType::RequestMedia, "/colour"),
        (CommandType::RequestMedia, "/requester/colour"),
        (CommandType::Cancel, "/colour"),
        (CommandType::StartPreparing, "/target/colour"),
        (CommandType::MarkReady, "/colour"),
        (CommandType::Handover, "/collector/colour"),
        (CommandType::Handover, "/collector/document/colour"),
        (CommandType::ReprintSlip, "/target/colour"),
        (CommandType::Update, "/colour"),
    ];
    for (c, path) in nested {
        k.data(
            format!("{} with unknown field {path}", short(c)),
            c,
            edit(t(c), path, Some(json!("red"))),
            misfit(c, &["unknown field `colour`"]),
        );
    }
    k.data(
        "delete with unknown field /target/colour",
        CommandType::Delete,
        edit(t(CommandType::Delete), "/target/colour", Some(json!(1))),
        misfit(CommandType::Delete, &["unknown field `colour`"]),
    );
    k.data(
        "register with unknown field /patient/passport/colour",
        CommandType::RegisterStudy,
        edit(
            t(CommandType::RegisterStudy),
            "/patient/passport",
            Some(json!({"country": "IDN", "number": "B1234567", "colour": "red"})),
        ),
        misfit(CommandType::RegisterStudy, &["unknown field `colour`"]),
    );
    for c in all.into_iter().filter(|c| *c != CommandType::RegisterStudy) {
        for (name, v, words) in [
            (
                "a number",
                json!(900_101),
                "invalid type: integer `…`, expected a string",
            ),
            ("null", Value::Null, "invalid type: null, expected a string"),
            ("a list", json!(["rad1"]), "invalid type: sequence"),
        ] {
            k.data(
                format!("{} with actor {name}", short(c)),
                c,
                edit(t(c), "/actor", Some(v)),
                misfit(c, &[words]),
            );
        }
    }
    for c in TRANSITIONS {
        k.data(
            format!("{} with target a string", short(c)),
            c,
            edit(t(c), "/target", Some(json!("MD-000001"))),
            misfit(c, &["invalid type: string \"…\""]),
        );
    }
    #[rustfmt::skip]
    let odd: [(CommandType, &str, Value, &str); 7] = [
        (CommandType::Handover, "/document_seen", json!("yes"), "invalid type: string \"…\", expected a boolean"),
        (CommandType::Handover, "/collector/document", json!(PATIENT_IC), "invalid type: string \"…\""),
        (CommandType::RegisterStudy, "/examinations", json!({"series_uid": "1.2"}), "invalid type: map"),
        (CommandType::RegisterStudy, "/study/modalities", json!("CT"), "invalid type: string \"…\""),
        (CommandType::RegisterStudy, "/examinations/0/instance_count", json!(3_000_000_000u64), "invalid value: integer `…`, expected i32"),
        (CommandType::RequestMedia, "/study_uids", json!(UID_A3), "invalid type: string \"…\", expected a sequence"),
        (CommandType::RequestMedia, "/requester", json!("PATIENT"), "invalid type: string \"…\""),
    ];
    for (c, path, v, words) in odd {
        k.data(
            format!("{} with {path} = {v}", short(c)),
            c,
            edit(t(c), path, Some(v)),
            misfit(c, &[words]),
        );
    }
    // Another command's data under this command's type (no two shapes alike).
    for (i, c) in all.into_iter().enumerate() {
        let other = all[(i + 1) % all.len()];
        k.data(
            format!("{} carrying the data of {}", short(c), short(other)),
            c,
            t(other),
            misfit(c, &[]),
        );
    }

    // 9. Values outside the closed vocabularies: a rejection naming the field.
    let request = CommandType::RequestMedia;
    #[rustfmt::skip]
    let enums: [(CommandType, &str, &str, &[&str], &str); 6] = [
        (request, "/media_type", "media_type", &["BLURAY", "", "CD-ROM", "floppy"],
            "is not one of CD, DVD, XRAY_FILM, USB, DIGITAL_COPY"),
        (request, "/urgency", "urgency", &["ASAP", "", "LOW"], "is not one of NORMAL, URGENT, STAT"),
        (request, "/requester/type", "requester.type", &["NEIGHBOUR", "", "DOCTOR"],
            "is not one of PATIENT, RELATIVE, REFERRAL_HOSPITAL, CLINICIAN"),
        (CommandType::Update, "/urgency", "urgency", &["YESTERDAY", ""], "is not one of NORMAL, URGENT, STAT"),
        (CommandType::Handover, "/collector/relationship", "collector.relationship", &["COUSIN", "", "FRIEND"],
            "is not one of SELF, SPOUSE, PARENT"),
        (CommandType::Handover, "/collector/document/type", "collector.document.type", &["LICENCE", "", "DRIVING_LICENSE"],
            "is not one of MYKAD, PASSPORT, OTHER"),
    ];
    for (c, path, field, values, words) in enums {
        for v in values {
            k.data(
                format!("{} with {path} {v:?}", short(c)),
                c,
                edit(t(c), path, Some(json!(v))),
                invalid(field, words, None),
            );
        }
    }
    for (sex, words) in [("X", "M, F or O"), ("male", "at most 1 characters")] {
        k.data(
            format!("register with /patient/sex {sex:?}"),
            CommandType::RegisterStudy,
            edit(
                t(CommandType::RegisterStudy),
                "/patient/sex",
                Some(json!(sex)),
            ),
            invalid("patient.sex", words, None),
        );
    }

    // 10. Quantities: out of range is a rejection, not a whole number is poison.
    for c in [CommandType::RequestMedia, CommandType::Update] {
        for n in [0i64, -1, 51, 1000, i64::MAX, i64::MIN] {
            k.data(
                format!("{} with quantity {n}", short(c)),
                c,
                edit(t(c), "/quantity", Some(json!(n))),
                invalid(
                    "quantity",
                    &format!("quantity: must be 1 to 50, got {n}"),
                    None,
                ),
            );
        }
        for (raw, words) in [
            ("1e30", "invalid type: floating point `…`, expected i64"),
            ("2.5", "invalid type: floating point `…`, expected i64"),
            (
                "9223372036854775808",
                "invalid value: integer `…`, expected i64",
            ),
            (
                "18446744073709551616",
                "invalid type: floating point `…`, expected i64",
            ),
            ("\"3\"", "invalid type: string \"…\", expected i64"),
        ] {
            k.raw(
                format!("{} with quantity {raw}", short(c)),
                c.routing_key(),
                |id| {
                    with_raw(
                        &envelope(id, c, edit(t(c), "/quantity", Some(json!("__RAW__")))),
                        raw,
                    )
                },
                misfit(c, &[words]),
            );
        }
        k.raw(
            format!("{} with quantity 1e400", short(c)),
            c.routing_key(),
            |id| {
                with_raw(
                    &envelope(id, c, edit(t(c), "/quantity", Some(json!("__RAW__")))),
                    "1e400",
                )
            },
            not_json(&["number out of range"]),
        );
    }
    k.data(
        "request-media with quantity null",
        request,
        edit(t(request), "/quantity", Some(Value::Null)),
        misfit(request, &["invalid type: null, expected i64"]),
    );

    // 11. Dates that do not exist or are not dates: poison (serde refuses them).
    let register = CommandType::RegisterStudy;
    for path in ["/patient/birth_date", "/study/study_date"] {
        for v in [
            json!("1990-02-30"),
            json!("2026-02-29"),
            json!("1990-13-01"),
            json!("1990-00-10"),
            json!("31/12/1990"),
            json!(""),
            json!("yesterday"),
            json!(19_900_101),
        ] {
            k.data(
                format!("register with {path} {v}"),
                register,
                edit(t(register), path, Some(v)),
                misfit(register, &[]),
            );
        }
    }

    // 12. MyKad numbers that cannot exist: a rejection naming the field.
    let date_gone = "the birth date in a MyKad number (YYMMDD) does not exist";
    let twelve = "a MyKad number has 12 digits (YYMMDD-PB-###G)";
    let mykads: Vec<(&str, String)> = vec![
        ("990230-14-1235", date_gone.into()),
        ("010229-14-1235", date_gone.into()),
        ("901301-14-1235", date_gone.into()),
        ("900100-14-1235", date_gone.into()),
        ("900132-14-1235", date_gone.into()),
        (
            "900101-00-1235",
            "place-of-birth code 00 is not issued".into(),
        ),
        (
            "900101-17-1235",
            "place-of-birth code 17 is not issued".into(),
        ),
        (
            "900101-18-1235",
            "place-of-birth code 18 is not issued".into(),
        ),
        (
            "900101-19-1235",
            "place-of-birth code 19 is not issued".into(),
        ),
        (
            "900101-20-1235",
            "place-of-birth code 20 is not issued".into(),
        ),
        ("90010114123", twelve.into()),
        ("9001011412355", twelve.into()),
        ("90O101-14-1235", twelve.into()),
        ("ABCDEFGHIJKL", twelve.into()),
        ("900101_14_1235", twelve.into()),
    ];
    for (ic, words) in &mykads {
        k.data(
            format!("register with patient IC {ic}"),
            register,
            edit(t(register), "/patient/ic", Some(json!(ic))),
            invalid("patient.ic", words, None),
        );
        k.data(
            format!("handover with a MyKad {ic}"),
            CommandType::Handover,
            edit(
                t(CommandType::Handover),
                "/collector/document/number",
                Some(json!(ic)),
            ),
            invalid("collector.document.number", words, None),
        );
    }
    k.data(
        "handover with an empty MyKad",
        CommandType::Handover,
        edit(
            t(CommandType::Handover),
            "/collector/document/number",
            Some(json!("")),
        ),
        invalid("collector.document.number", twelve, None),
    );

    // 13. Passports.
    let country = "the issuing country is a 2- or 3-letter code";
    let number = "a passport number is 5 to 20 letters and digits";
    let passports: [(&str, &str, &str, &str); 10] = [
        ("I", "B1234567", "country", country),
        ("INDO", "B1234567", "country", country),
        ("1DN", "B1234567", "country", country),
        ("", "B1234567", "country", country),
        ("I D", "B1234567", "country", country),
        ("IDN", "B123", "number", number),
        ("IDN", "", "number", number),
        ("IDN", "B123-4567", "number", number),
        ("IDN", "B12345678901234567890", "number", number),
        ("IDN", "B1234!67", "number", number),
    ];
    for (ctry, no, part, words) in passports {
        k.data(
            format!("register with passport {ctry:?} {no:?}"),
            register,
            edit(
                t(register),
                "/patient/passport",
                Some(json!({"country": ctry, "number": no})),
            ),
            invalid(&format!("patient.passport.{part}"), words, None),
        );
        k.data(
            format!("handover with passport {ctry:?} {no:?}"),
            CommandType::Handover,
            edit(
                t(CommandType::Handover),
                "/collector/document",
                Some(json!({"type": "PASSPORT", "country": ctry, "number": no})),
            ),
            invalid(&format!("collector.document.{part}"), words, None),
        );
    }
    k.data(
        "handover with a passport without a country",
        CommandType::Handover,
        edit(
            t(CommandType::Handover),
            "/collector/document",
            Some(json!({"type": "PASSPORT", "number": "B1234567"})),
        ),
        invalid("collector.document.country", country, None),
    );

    // 14. Empty, oversized and control-character strings: a rejection
    // naming the field (and the distribution, once it was looked up).
    let (reg, rq, can, sp, mr, ho, rp, up, del) = (
        CommandType::RegisterStudy,
        CommandType::RequestMedia,
        CommandType::Cancel,
        CommandType::StartPreparing,
        CommandType::MarkReady,
        CommandType::Handover,
        CommandType::ReprintSlip,
        CommandType::Update,
        CommandType::Delete,
    );
    let (req, prep, ready) = (Some(s.req), Some(s.prep), Some(s.ready));
    let (needed, ctl, uid) = (
        "is required",
        "control characters are not allowed",
        "dot-separated digits",
    );
    let at_most = |n: usize| format!("at most {n} characters");
    let many_uids: Vec<String> = (0..51).map(|i| format!("{UID_A3}.{i}")).collect();
    let other_doc = |number: &str, description: Option<&str>| json!({"type": "OTHER", "number": number, "description": description});
    type Bad = (
        CommandType,
        &'static str,
        Value,
        &'static str,
        String,
        Option<i64>,
    );
    #[rustfmt::skip]
    let bad_values: Vec<Bad> = vec![
        (reg, "/patient/mrn", json!(""), "patient.mrn", needed.into(), None),
        (reg, "/patient/mrn", json!("   "), "patient.mrn", needed.into(), None),
        (reg, "/patient/mrn", json!(long(65)), "patient.mrn", at_most(64), None),
        (reg, "/patient/name", json!(""), "patient.name", needed.into(), None),
        (reg, "/patient/name", json!(long(201)), "patient.name", at_most(200), None),
        (reg, "/patient/name", json!("Syn\u{7}Bell"), "patient.name", ctl.into(), None),
        (reg, "/patient/issuer", json!(long(65)), "patient.issuer", at_most(64), None),
        (reg, "/study/uid", json!(""), "study.uid", uid.into(), None),
        (reg, "/study/uid", json!("1".repeat(65)), "study.uid", uid.into(), None),
        (reg, "/study/uid", json!("1..2"), "study.uid", uid.into(), None),
        (reg, "/study/uid", json!("1.2.abc"), "study.uid", uid.into(), None),
        (reg, "/study/accession_number", json!(long(65)), "study.accession_number", at_most(64), None),
        (reg, "/study/description", json!(long(201)), "study.description", at_most(200), None),
        (reg, "/examinations/0/series_uid", json!("s-1"), "examinations[0].series_uid", uid.into(), None),
        (reg, "/examinations/0/instance_count", json!(-1), "examinations[0].instance_count", "cannot be negative".into(), None),
        (rq, "/study_uids", json!([]), "study_uids", "name at least one study".into(), None),
        (rq, "/study_uids", json!(many_uids), "study_uids", "at most 50 studies".into(), None),
        (rq, "/study_uids", json!(["abc"]), "study_uids[0]", uid.into(), None),
        (rq, "/study_uids", json!([UID_A3, ""]), "study_uids[1]", uid.into(), None),
        (rq, "/requester", json!({"type": "RELATIVE"}), "requester.name", "name the person who asked".into(), None),
        (rq, "/requester", json!({"type": "CLINICIAN", "name": " "}), "requester.name", "name the person who asked".into(), None),
        (rq, "/requester", json!({"type": "REFERRAL_HOSPITAL", "reference": "R1"}), "requester.organisation", "name the referral hospital".into(), None),
        (rq, "/requester", json!({"type": "REFERRAL_HOSPITAL", "organisation": "H"}), "requester.reference", "referral letter".into(), None),
        (rq, "/requester", json!({"type": "RELATIVE", "name": long(201)}), "requester.name", at_most(200), None),
        (rq, "/requester", json!({"type": "PATIENT", "contact": long(101)}), "requester.contact", at_most(100), None),
        (rq, "/comments", json!(long(1001)), "comments", at_most(1000), None),
        (rq, "/comments", json!("bell\u{7}"), "comments", ctl.into(), None),
        (can, "/reason", json!(""), "reason", needed.into(), req),
        (can, "/reason", json!(long(501)), "reason", at_most(500), req),
        (can, "/reason", json!("bell\u{7}"), "reason", ctl.into(), req),
        (mr, "/storage_location", json!(""), "storage_location", needed.into(), prep),
        (mr, "/storage_location", json!(long(61)), "storage_location", at_most(60), prep),
        (mr, "/storage_location", json!("Shelf\u{7}"), "storage_location", ctl.into(), prep),
        (ho, "/collector/name", json!(""), "collector.name", needed.into(), None),
        (ho, "/collector/name", json!(long(201)), "collector.name", at_most(200), None),
        (ho, "/collector/relationship", json!("OTHER"), "collector.relationship_other", "say what the relationship is".into(), None),
        (ho, "/collector/relationship_other", json!(long(61)), "collector.relationship_other", at_most(60), None),
        (ho, "/collector/authority_reference", json!(long(101)), "collector.authority_reference", at_most(100), None),
        (ho, "/collector/document", other_doc("HKL-00912", None), "collector.document.description", "say what the document is".into(), None),
        (ho, "/collector/document", other_doc("", Some("police card")), "collector.document.number", "1 to 40 characters".into(), None),
        (ho, "/collector/document", other_doc(&long(41), Some("police card")), "collector.document.number", "1 to 40 characters".into(), None),
        (ho, "/collector/document", other_doc("A1", Some(&long(61))), "collector.document.description", "1 to 60 characters".into(), None),
        (up, "/quantity", Value::Null, "changes", "nothing to change".into(), req),
        (up, "/comments", json!(long(1001)), "comments", at_most(1000), None),
        (del, "/reason", json!(""), "reason", needed.into(), req),
        (del, "/reason", json!(long(501)), "reason", at_most(500), req),
    ];
    // ...and well-formed commands that are not allowed: who, which, when.
    type Refusal = (
        CommandType,
        &'static str,
        Value,
        ReasonCode,
        String,
        Option<i64>,
    );
    #[rustfmt::skip]
    let refusals: Vec<Refusal> = vec![
        (rq, "/study_uids", json!(["9.9.9.9"]), ReasonCode::UnknownStudy, "study 9.9.9.9 is not registered".into(), None),
        (rq, "/study_uids", json!([UID_A3, UID_B1]), ReasonCode::StudiesOfDifferentPatients, "one request covers the studies of one patient".into(), None),
        (rq, "/study_uids", json!([UID_A1]), ReasonCode::DuplicateActiveRequest, format!("already has an active CD request: {}", Reference::from_id(s.req)), None),
        (rq, "/actor", json!(""), ReasonCode::UnknownStaff, "no staff account ''".into(), None),
        (rq, "/actor", json!("nobody"), ReasonCode::UnknownStaff, "no staff account 'nobody'".into(), None),
        (rq, "/actor", json!("rad1"), ReasonCode::Forbidden, "a radiographer may not request media".into(), None),
        (can, "/actor", json!(""), ReasonCode::UnknownStaff, "no staff account ''".into(), None),
        (can, "/actor", json!("clerk1"), ReasonCode::Forbidden, "a clerk may not cancel a request".into(), req),
        (sp, "/actor", json!("ghost"), ReasonCode::UnknownStaff, "no staff account 'ghost'".into(), None),
        (sp, "/actor", json!("desk1"), ReasonCode::Forbidden, "may not start preparing media".into(), req),
        (sp, "/target", json!({"token": s.token(s.ready)}), ReasonCode::IllegalTransition, "cannot start preparing media while the request is READY".into(), ready),
        (mr, "/actor", json!("clerk1"), ReasonCode::Forbidden, "a clerk may not mark media ready".into(), prep),
        (mr, "/target", json!({"token": s.token(s.req)}), ReasonCode::IllegalTransition, "while the request is REQUESTED".into(), req),
        (ho, "/actor", json!(""), ReasonCode::UnknownStaff, "no staff account ''".into(), None),
        (ho, "/actor", json!("rad1"), ReasonCode::Forbidden, "a radiographer may not hand media over".into(), ready),
        (ho, "/target", json!({"token": s.token(s.req)}), ReasonCode::NotReady, "status REQUESTED".into(), req),
        (ho, "/target", json!({"token": s.token(s.prep)}), ReasonCode::NotReady, "status PREPARING".into(), prep),
        (rp, "/actor", json!(""), ReasonCode::UnknownStaff, "no staff account ''".into(), None),
        (rp, "/actor", json!("rad1"), ReasonCode::Forbidden, "a radiographer may not reprint a slip".into(), prep),
        (up, "/actor", json!("rad1"), ReasonCode::Forbidden, "a radiographer may not change a request".into(), req),
        (del, "/actor", json!("clerk1"), ReasonCode::Forbidden, "a clerk may not delete a request".into(), req),
    ];
    let shown = |v: &Value| match v {
        Value::String(x) if x.chars().count() > 20 => format!("{} characters", x.chars().count()),
        other => other.to_string(),
    };
    for (c, path, v, field, words, dist) in bad_values {
        let what = format!("{} with {path} {}", short(c), shown(&v));
        k.data(
            what,
            c,
            edit(t(c), path, Some(v)),
            invalid(field, &words, dist),
        );
    }
    for (c, path, v, code, words, dist) in refusals {
        let what = format!("{} with {path} {}", short(c), shown(&v));
        let field = match code {
            ReasonCode::UnknownStudy | ReasonCode::StudiesOfDifferentPatients => Some("study_uids"),
            _ => None,
        };
        k.data(
            what,
            c,
            edit(t(c), path, Some(v)),
            rejected(code, field, Some(&words), dist),
        );
    }
    k.data(
        "update of a PREPARING request's quantity",
        up,
        edit(t(up), "/target", Some(json!({ "distribution_id": s.prep }))),
        rejected(
            ReasonCode::IllegalTransition,
            Some("quantity"),
            Some("the quantity can change only while REQUESTED; this request is PREPARING"),
            prep,
        ),
    );

    // 15. Oversized messages: refused before parsing, whatever they hold.
    // The padding is an extension attribute, so the rest is a valid command.
    for (c, size) in [
        (CommandType::RequestMedia, MAX_MESSAGE_BYTES + 1),
        (CommandType::Handover, MAX_MESSAGE_BYTES + 1),
        (CommandType::RegisterStudy, 1 << 20),
        (CommandType::MarkReady, 1 << 20),
        (CommandType::Cancel, 1 << 20),
        (CommandType::StartPreparing, 4 << 20),
    ] {
        k.raw(
            format!("{} padded to {size} bytes", short(c)),
            c.routing_key(),
            |id| {
                padded(
                    edit(envelope(id, c, t(c)), "/padding", Some(json!(""))),
                    "/padding",
                    size,
                )
            },
            too_large(size),
        );
    }
    // ...and at exactly the limit, the message is read and judged on its merits.
    k.raw(
        format!("request-media of exactly {MAX_MESSAGE_BYTES} bytes with huge comments"),
        request.routing_key(),
        |id| {
            padded(
                envelope(id, request, t(request)),
                "/data/comments",
                MAX_MESSAGE_BYTES,
            )
        },
        invalid("comments", "at most 1000 characters", None),
    );
    k.raw(
        format!("handover of exactly {MAX_MESSAGE_BYTES} bytes with a bad MyKad"),
        CommandType::Handover.routing_key(),
        |id| {
            let e = edit(
                edit(
                    envelope(id, CommandType::Handover, t(CommandType::Handover)),
                    "/data/collector/document/number",
                    Some(json!("990230-14-1235")),
                ),
                "/padding",
                Some(json!("")),
            );
            padded(e, "/padding", MAX_MESSAGE_BYTES)
        },
        invalid("collector.document.number", date_gone, None),
    );

    // 16. Slip tokens: tampered, truncated, wrong version, foreign key.
    for c in [
        CommandType::StartPreparing,
        CommandType::MarkReady,
        CommandType::Handover,
    ] {
        for (name, token, fate) in bad_tokens(&s.key, s.target_of(c)) {
            k.data(
                format!("{} with a slip token: {name}", short(c)),
                c,
                edit(t(c), "/target", Some(json!({ "token": token }))),
                token_fate(fate),
            );
        }
    }
    for c in [
        CommandType::Cancel,
        CommandType::ReprintSlip,
        CommandType::Update,
        CommandType::Delete,
    ] {
        for (name, token, fate) in bad_tokens(&s.key, s.target_of(c)).into_iter().step_by(5) {
            k.data(
                format!("{} with a slip token: {name}", short(c)),
                c,
                edit(t(c), "/target", Some(json!({ "token": token }))),
                token_fate(fate),
            );
        }
    }

    // 17. Targets that name nothing, or name it wrongly.
    let nothing = |id: i64| {
        rejected(
            ReasonCode::NotFound,
            None,
            Some(&format!("no request {}", Reference::from_id(id))),
            None,
        )
    };
    let one_of = "give exactly one of token, distribution_id, reference";
    for c in TRANSITIONS {
        let positive = "must be a positive id";
        let like = "is not a reference like MD-000042";
        let misfits = |w: &str| misfit(c, &[w]);
        #[rustfmt::skip]
        let targets: Vec<(Value, Fate)> = vec![
            (json!({"distribution_id": NO_SUCH_ID}), nothing(NO_SUCH_ID)),
            (json!({"reference": "MD-999999"}), nothing(NO_SUCH_ID)),
            (json!({"reference": "md 999999"}), nothing(NO_SUCH_ID)),
            (json!({"distribution_id": i64::MAX}), nothing(i64::MAX)),
            (json!({"distribution_id": 0}), invalid("target.distribution_id", positive, None)),
            (json!({"distribution_id": -1}), invalid("target.distribution_id", positive, None)),
            (json!({"distribution_id": i64::MIN}), invalid("target.distribution_id", positive, None)),
            (json!({"reference": "XYZ"}), invalid("target.reference", like, None)),
            (json!({"reference": "MD-0"}), invalid("target.reference", like, None)),
            (json!({"reference": ""}), invalid("target.reference", like, None)),
            (json!({}), invalid("target", one_of, None)),
            (json!({"distribution_id": null}), invalid("target", one_of, None)),
            (json!({"token": s.token(s.req), "distribution_id": s.req}), invalid("target", one_of, None)),
            (json!({"distribution_id": "5"}), misfits("invalid type: string \"…\", expected i64")),
            (json!({"distribution_id": 1.5}), misfits("invalid type: floating point `…`, expected i64")),
            (json!({"distribution_id": 1e30}), misfits("invalid type: floating point `…`, expected i64")),
        ];
        for (target, fate) in targets {
            k.data(
                format!("{} with target {target}", short(c)),
                c,
                edit(t(c), "/target", Some(target)),
                fate,
            );
        }
    }

    k.cases
}

/// Serialises `v` with the string at `path` grown so the whole message is
/// exactly `size` bytes.
fn padded(v: Value, path: &str, size: usize) -> Vec<u8> {
    let base = serde_json::to_vec(&v).expect("serialisable").len();
    let current = v
        .pointer(path)
        .and_then(Value::as_str)
        .map(str::len)
        .unwrap_or(0);
    assert!(base <= size, "the message is already {base} bytes");
    let grown = edit(v, path, Some(json!("p".repeat(size - base + current))));
    let bytes = serde_json::to_vec(&grown).expect("serialisable");
    assert_eq!(bytes.len(), size);
    bytes
}

// ---------------------------------------------------------------------------
// Publishing raw bytes with a reply_to, as client.rs does.

struct Producer {
    conn: Connection,
    ch: Channel,
    replies: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    exchange: String,
}

impl Producer {
    async fn connect(config: &Config) -> Producer {
        let conn = amqp::connect(&config.amqp_url, "poison-producer")
            .await
            .expect("broker");
        let ch = amqp::confirm_channel(&conn).await.expect("channel");
        let mut consumer = ch
            .basic_consume(
                REPLY_TO,
                "poison-replies",
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .expect("direct reply-to");
        let (tx, replies) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(Ok(d)) = consumer.next().await {
                let corr = d
                    .properties
                    .correlation_id()
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                if tx.send((corr, d.data)).is_err() {
                    break;
                }
            }
        });
        Producer {
            conn,
            ch,
            replies,
            exchange: config.commands_exchange(),
        }
    }

    async fn publish(&self, case: &Case) {
        let props = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type(ShortString::from("application/cloudevents+json"))
            .with_message_id(ShortString::from(case.id.as_str()))
            .with_reply_to(ShortString::from(REPLY_TO))
            .with_correlation_id(ShortString::from(format!("corr-{}", case.id)));
        amqp::publish_confirmed(
            &self.ch,
            &self.exchange,
            &case.routing_key,
            &case.body,
            props,
        )
        .await
        .unwrap_or_else(|e| panic!("publishing {} ({}): {e}", case.id, case.what));
    }

    /// Every answer, by correlation id, once `expected` distinct ones have
    /// come (and a moment more, to catch a second answer to anything).
    async fn answers(&mut self, expected: usize) -> HashMap<String, Vec<Vec<u8>>> {
        let mut got: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while got.len() < expected {
            match tokio::time::timeout_at(deadline, self.replies.recv()).await {
                Ok(Some((corr, body))) => got.entry(corr).or_default().push(body),
                _ => panic!(
                    "only {} of {expected} inputs were answered within 60 s",
                    got.len()
                ),
            }
        }
        while let Ok(Some((corr, body))) =
            tokio::time::timeout(Duration::from_millis(500), self.replies.recv()).await
        {
            got.entry(corr).or_default().push(body);
        }
        got
    }
}

/// A dead letter as the dead-letter queue holds it.
struct DeadLetter {
    body: Vec<u8>,
    reason: Option<String>,
    headers: BTreeMap<String, String>,
}

async fn queue_depth(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue,
        QueueDeclareOptions {
            passive: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("queue {queue}: {e}"))
    .message_count()
}

/// Takes every message off the dead-letter queue, by message id.
async fn drain_dead_letters(
    ch: &Channel,
    config: &Config,
    expected: usize,
) -> HashMap<String, Vec<DeadLetter>> {
    let mut consumer = ch
        .basic_consume(
            &config.dead_queue(),
            "poison-dead",
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .expect("consume dead letters");
    let mut got: HashMap<String, Vec<DeadLetter>> = HashMap::new();
    let mut n = 0;
    loop {
        let wait = if n < expected {
            Duration::from_secs(20)
        } else {
            Duration::from_millis(500)
        };
        let d = match tokio::time::timeout(wait, consumer.next()).await {
            Ok(Some(d)) => d.expect("dead letter"),
            Ok(None) => panic!("dead-letter consumer cancelled"),
            Err(_) if n >= expected => break,
            Err(_) => panic!("only {n} of {expected} dead letters arrived"),
        };
        n += 1;
        let headers: BTreeMap<String, String> = d
            .properties
            .headers()
            .clone()
            .unwrap_or_default()
            .inner()
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    AMQPValue::LongString(s) => s.to_string(),
                    other => format!("{other:?}"),
                };
                (k.to_string(), v)
            })
            .collect();
        let id = d
            .properties
            .message_id()
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default();
        got.entry(id).or_default().push(DeadLetter {
            body: d.data,
            reason: headers.get(amqp::REASON_HEADER).cloned(),
            headers,
        });
    }
    got
}

// ---------------------------------------------------------------------------
// The database, whole, to compare before and after.

const TABLES: [(&str, &str); 9] = [
    ("staff", "SELECT * FROM staff ORDER BY id"),
    ("patients", "SELECT * FROM patients ORDER BY id"),
    ("studies", "SELECT * FROM studies ORDER BY id"),
    ("examinations", "SELECT * FROM examinations ORDER BY id"),
    (
        "media_distributions",
        "SELECT * FROM media_distributions ORDER BY id",
    ),
    (
        "distribution_studies",
        "SELECT * FROM distribution_studies ORDER BY distribution_id, study_id",
    ),
    (
        "distribution_events",
        "SELECT * FROM distribution_events ORDER BY id",
    ),
    // published_at is the relay's business, not the corpus's.
    (
        "outbox",
        "SELECT id, event_id, event_type, subject, payload, created FROM outbox ORDER BY id",
    ),
    ("inbox", "SELECT * FROM inbox ORDER BY message_id"),
];

async fn snapshot(env: &TestEnv) -> BTreeMap<&'static str, Vec<Value>> {
    let mut out = BTreeMap::new();
    for (name, sql) in TABLES {
        let rows: Value = sqlx::query_scalar(&format!(
            "SELECT coalesce(json_agg(row_to_json(t)), '[]'::json) FROM ({sql}) t"
        ))
        .fetch_one(&env.pool)
        .await
        .unwrap_or_else(|e| panic!("snapshot of {name}: {e}"));
        let rows = match rows {
            Value::Array(a) => a,
            other => panic!("{name}: {other}"),
        };
        out.insert(name, rows);
    }
    out
}

fn counts(s: &BTreeMap<&'static str, Vec<Value>>) -> BTreeMap<&'static str, usize> {
    s.iter().map(|(k, v)| (*k, v.len())).collect()
}

// ---------------------------------------------------------------------------

async fn send(env: &TestEnv, c: CommandType, data: Value) -> Reply {
    env.client.send(c, data, WAIT).await.expect("an answer")
}

async fn accepted(env: &TestEnv, c: CommandType, data: Value) -> Reply {
    let r = send(env, c, data).await;
    assert_eq!(r.outcome, Outcome::Accepted, "{c:?}: {r:?}");
    r
}

async fn seed(env: &TestEnv) -> Seeded {
    for (user, role) in [
        ("clerk1", "CLERK"),
        ("rad1", "RADIOGRAPHER"),
        ("desk1", "RECEPTION"),
        ("admin1", "ADMIN"),
    ] {
        env.add_staff(user, role).await;
    }
    for (n, uid) in [UID_A1, UID_A2, UID_A3].into_iter().enumerate() {
        accepted(env, CommandType::RegisterStudy, json!({
            "patient": { "mrn": "SYN50001", "name": "Synthetic^Alpha", "ic": PATIENT_IC },
            "study": { "uid": uid, "accession_number": format!("ACC500{n}"), "study_date": "2026-11-30", "modalities": ["CT"] },
            "examinations": [{ "series_uid": format!("{uid}.1"), "modality": "CT", "instance_count": 64 }]
        }))
        .await;
    }
    accepted(env, CommandType::RegisterStudy, json!({
        "patient": { "mrn": "SYN50002", "name": "Synthetic^Bravo", "passport": { "country": "IDN", "number": "B1234567" } },
        "study": { "uid": UID_B1, "modalities": ["MR"] },
        "examinations": []
    }))
    .await;
    let request = |uid: &str, media: &str| {
        json!({
            "study_uids": [uid], "media_type": media, "quantity": 1, "urgency": "URGENT",
            "requester": { "type": "PATIENT" }, "actor": "clerk1"
        })
    };
    let id = |r: Reply| r.distribution_id.expect("a distribution id");
    let req = id(accepted(env, CommandType::RequestMedia, request(UID_A1, "CD")).await);
    let prep = id(accepted(env, CommandType::RequestMedia, request(UID_A1, "DVD")).await);
    let ready = id(accepted(env, CommandType::RequestMedia, request(UID_A2, "CD")).await);
    let s = Seeded {
        key: env.config.slip_key.clone(),
        req,
        prep,
        ready,
    };
    for id in [prep, ready] {
        accepted(
            env,
            CommandType::StartPreparing,
            json!({"target": {"token": s.token(id)}, "actor": "rad1"}),
        )
        .await;
    }
    accepted(
        env,
        CommandType::MarkReady,
        json!({"target": {"distribution_id": ready}, "storage_location": "Shelf R1", "actor": "rad1"}),
    )
    .await;
    s
}

/// Checks one input's answer and dead letters against its fate; the
/// complaint, if any.
fn judge(
    case: &Case,
    answers: &HashMap<String, Vec<Vec<u8>>>,
    dead: &HashMap<String, Vec<DeadLetter>>,
    config: &Config,
) -> Result<(), String> {
    let corr = format!("corr-{}", case.id);
    let replies = answers.get(&corr).map(Vec::as_slice).unwrap_or_default();
    let [reply] = replies else {
        return Err(format!("{} answers", replies.len()));
    };
    let reply: Reply =
        serde_json::from_slice(reply).map_err(|e| format!("unreadable answer: {e}"))?;
    if reply.outcome != Outcome::Rejected {
        return Err(format!("answered {reply:?}"));
    }
    let rejection = reply
        .rejection
        .clone()
        .ok_or("rejected without a rejection")?;
    let letters = dead.get(&case.id).map(Vec::as_slice).unwrap_or_default();
    match &case.fate {
        Fate::Dead {
            text,
            exact,
            contains,
        } => {
            let [letter] = letters else {
                return Err(format!(
                    "expected one dead letter, found {}; answer {rejection:?}",
                    letters.len()
                ));
            };
            let reason = letter
                .reason
                .clone()
                .ok_or("dead letter without a reason")?;
            let fits = if *exact {
                reason == *text
            } else {
                reason.starts_with(text.as_str()) && contains.iter().all(|c| reason.contains(c))
            };
            if !fits {
                return Err(format!("dead-lettered for {reason:?}"));
            }
            if letter.body != case.body {
                return Err("the dead letter's body is not the message sent".into());
            }
            let want = [
                ("x-original-routing-key", case.routing_key.clone()),
                ("x-original-exchange", config.commands_exchange()),
            ];
            for (h, v) in want {
                if letter.headers.get(h) != Some(&v) {
                    return Err(format!("header {h} is {:?}", letter.headers.get(h)));
                }
            }
            // Dead-lettered by the worker at the first delivery, not by the
            // broker after retries.
            for h in ["x-death", "x-delivery-count"] {
                if letter.headers.contains_key(h) {
                    return Err(format!("dead letter carries {h}: {:?}", letter.headers));
                }
            }
            let said = (
                reply.command_id.as_str(),
                rejection.code,
                rejection.message.as_str(),
            );
            let want = (
                case.id.as_str(),
                ReasonCode::InvalidField,
                format!("message dead-lettered: {reason}"),
            );
            if said != (want.0, want.1, want.2.as_str()) {
                return Err(format!("the producer was told {said:?}"));
            }
        }
        Fate::Rejected {
            code,
            field,
            contains,
            distribution,
        } => {
            if !letters.is_empty() {
                return Err(format!(
                    "dead-lettered for {:?} instead of rejected",
                    letters[0].reason
                ));
            }
            let mut wrong = vec![];
            if rejection.code != *code {
                wrong.push(format!("code {}", rejection.code));
            }
            if rejection.field != *field {
                wrong.push(format!("field {:?}", rejection.field));
            }
            if let Some(words) = contains {
                if !rejection.message.contains(words.as_str()) {
                    wrong.push(format!("message {:?}", rejection.message));
                }
            }
            if reply.distribution_id != *distribution {
                wrong.push(format!("distribution {:?}", reply.distribution_id));
            }
            if reply.command_id != case.id || reply.duplicate || reply.status.is_some() {
                wrong.push(format!("answer {reply:?}"));
            }
            if !wrong.is_empty() {
                return Err(format!("rejected with {}: {rejection:?}", wrong.join(", ")));
            }
        }
    }
    Ok(())
}

/// What the workers did with a corpus: the answers by correlation id, the
/// dead letters by message id, and how many the dead-letter queue held.
struct Run {
    answers: HashMap<String, Vec<Vec<u8>>>,
    dead: HashMap<String, Vec<DeadLetter>>,
    dead_depth: usize,
    producer: Producer,
}

async fn run_corpus(env: &TestEnv, cases: &[Case]) -> Run {
    let mut producer = Producer::connect(&env.config).await;
    for case in cases {
        producer.publish(case).await;
    }
    let answers = producer.answers(cases.len()).await;
    // Every answer came after its dead letter was confirmed: the queue holds
    // them all by now.
    let dead_depth = queue_depth(&producer.ch, &env.config.dead_queue()).await as usize;
    let dead = drain_dead_letters(&producer.ch, &env.config, dead_depth).await;
    Run {
        answers,
        dead,
        dead_depth,
        producer,
    }
}

/// Rows added or gone, table by table (the inbox aside).
fn changes(
    before: &BTreeMap<&'static str, Vec<Value>>,
    after: &BTreeMap<&'static str, Vec<Value>>,
) -> Vec<String> {
    let mut out = vec![];
    for (table, rows) in before {
        if *table == "inbox" {
            continue;
        }
        let now = &after[table];
        for gone in rows.iter().filter(|r| !now.contains(r)) {
            out.push(format!("{table}: - {gone}"));
        }
        for new in now.iter().filter(|r| !rows.contains(r)) {
            out.push(format!("{table}: + {new}"));
        }
    }
    out
}

/// A reason header must never echo what the message held: no IC number of
/// the corpus, in any spelling.
fn leaks(dead: &HashMap<String, Vec<DeadLetter>>) -> Vec<String> {
    dead.iter()
        .flat_map(|(id, letters)| letters.iter().map(move |l| (id, l)))
        .filter_map(|(id, l)| {
            let reason = l.reason.as_deref().unwrap_or("");
            [
                PATIENT_IC,
                PATIENT_IC_DIGITS,
                "850612145523",
                "850612-14-5523",
            ]
            .iter()
            .any(|ic| reason.contains(ic))
            .then(|| format!("{id}: the reason header quotes an IC number: {reason:?}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_malformed_command_is_dead_lettered_or_rejected_and_changes_nothing() {
    let started = Instant::now();
    let env = TestEnv::start().await;
    let seeded = seed(&env).await;
    let cases = corpus(&seeded);
    let ids: BTreeSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), cases.len(), "message ids are unique");
    let routed: BTreeSet<String> = cases
        .iter()
        .map(|c| c.routing_key.rsplit('.').next().unwrap_or("").to_string())
        .collect();
    for c in CommandType::ALL {
        assert!(routed.contains(&short(c)), "{c:?} is in the corpus");
    }
    let expected_dead = cases.iter().filter(|c| c.fate.is_dead()).count();
    let expected_rejected = cases.len() - expected_dead;
    assert!(cases.len() >= 200, "{} inputs", cases.len());

    let before = snapshot(&env).await;
    let run = run_corpus(&env, &cases).await;
    let answered = started.elapsed();

    let mut failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            judge(case, &run.answers, &run.dead, &env.config)
                .err()
                .map(|why| format!("{} [{}] {}: {why}", case.id, case.routing_key, case.what))
        })
        .collect();
    failures.extend(leaks(&run.dead));
    assert!(
        failures.is_empty(),
        "{} of {} inputs met the wrong fate:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert_eq!(
        run.dead_depth, expected_dead,
        "the dead-letter queue held {} messages, {expected_dead} expected",
        run.dead_depth
    );
    let strays: Vec<&String> = run
        .dead
        .keys()
        .filter(|id| !ids.contains(id.as_str()))
        .collect();
    assert!(
        strays.is_empty(),
        "dead letters not from the corpus: {strays:?}"
    );
    let stray_answers: Vec<&String> = run
        .answers
        .keys()
        .filter(|c| !ids.contains(c.trim_start_matches("corr-")))
        .collect();
    assert!(
        stray_answers.is_empty(),
        "answers to nothing sent: {stray_answers:?}"
    );
    let ch = &run.producer.ch;
    for stage in Stage::ALL {
        assert_eq!(
            queue_depth(ch, &env.config.stage_queue(stage)).await,
            0,
            "{} queue drained",
            stage.name()
        );
    }
    assert_eq!(queue_depth(ch, &env.config.dead_queue()).await, 0);

    // Nothing written, nothing changed, apart from the inbox remembering each
    // rejection (so a redelivery is answered the same); a dead letter leaves
    // no inbox row.
    let mut after = snapshot(&env).await;
    // The one deliberate write: a replaced slip offered for handover is
    // recorded as a refused attempt (someone holds an old copy).
    let superseded_handovers = cases
        .iter()
        .filter(|c| {
            c.routing_key.ends_with(".handover")
                && [
                    "a newer slip version, correctly signed",
                    "slip version 0, correctly signed",
                ]
                .iter()
                .any(|w| c.what.ends_with(w))
        })
        .count();
    let events = after.get_mut("distribution_events").expect("events");
    let before_events = before["distribution_events"].len();
    let recorded: Vec<Value> = events.split_off(before_events.min(events.len()));
    assert_eq!(
        recorded
            .iter()
            .map(|e| (e["event"].clone(), e["details"]["code"].clone()))
            .collect::<Vec<_>>(),
        vec![(json!("handover-refused"), json!("TOKEN_SUPERSEDED")); superseded_handovers],
        "the only audit rows the corpus writes are the refused handovers of replaced slips"
    );
    assert_eq!(superseded_handovers, 2);
    let changed = changes(&before, &after);
    assert!(
        changed.is_empty(),
        "the corpus changed the database:\n{}",
        changed.join("\n")
    );
    let inbox_ids: BTreeSet<String> = after["inbox"]
        .iter()
        .filter(|row| !before["inbox"].contains(row))
        .map(|row| row["message_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let want_inbox: BTreeSet<String> = cases
        .iter()
        .filter(|c| !c.fate.is_dead())
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(
        inbox_ids, want_inbox,
        "the inbox holds exactly the rejected commands"
    );
    assert_eq!(
        counts(&after)["inbox"],
        counts(&before)["inbox"] + expected_rejected
    );

    // The pipeline still works, and every template the corpus mutated was
    // well formed: sent as is, each is accepted.
    let s = &seeded;
    let steps: [(CommandType, Option<Status>, Option<i64>); 9] = [
        (CommandType::RegisterStudy, None, None),
        (CommandType::RequestMedia, Some(Status::Requested), None),
        (CommandType::Update, Some(Status::Requested), Some(s.req)),
        (
            CommandType::StartPreparing,
            Some(Status::Preparing),
            Some(s.req),
        ),
        (CommandType::MarkReady, Some(Status::Ready), Some(s.prep)),
        (
            CommandType::Handover,
            Some(Status::Collected),
            Some(s.ready),
        ),
        (CommandType::ReprintSlip, Some(Status::Ready), Some(s.prep)),
        (CommandType::Cancel, Some(Status::Cancelled), Some(s.req)),
        (CommandType::Delete, Some(Status::Cancelled), Some(s.req)),
    ];
    for (c, status, dist) in steps {
        let r = accepted(&env, c, template(s, c)).await;
        assert_eq!(r.status, status, "{c:?}: {r:?}");
        if let Some(d) = dist {
            assert_eq!(r.distribution_id, Some(d), "{c:?}: {r:?}");
        }
    }
    let end = counts(&snapshot(&env).await);
    assert_eq!(end["patients"], counts(&before)["patients"] + 1);
    assert_eq!(
        end["media_distributions"],
        counts(&before)["media_distributions"] + 1
    );

    println!(
        "poison corpus: {} inputs, {} dead-lettered, {} rejected; all answered after {:.1?}, test took {:.1?}",
        cases.len(),
        expected_dead,
        expected_rejected,
        answered,
        started.elapsed()
    );
    let _ = run.producer.conn.close(200, "bye").await;
    env.stop().await;
}

/// Inputs the corpus first caught the code handling against the contract
/// (a rejected registration wrote the patient, a reason echoed an IC
/// number, an array passed for an envelope, NULs reached PostgreSQL); kept
/// so they stay fixed.
fn gap_corpus(s: &Seeded) -> Vec<Case> {
    let mut k = Corpus::default();
    let register = CommandType::RegisterStudy;
    let elsewhere = "study.uid: this study is already registered to another patient";
    k.data(
        "register a study of patient A under a new patient",
        register,
        json!({
            "patient": { "mrn": "SYN59001", "name": "Synthetic^Intruder", "ic": "850612-14-5523" },
            "study": { "uid": UID_A1, "modalities": ["CT"] },
            "examinations": []
        }),
        rejected(
            ReasonCode::InvalidField,
            Some("study.uid"),
            Some(elsewhere),
            None,
        ),
    );
    k.data(
        "register a study of patient B under patient A's MRN and a new name",
        register,
        json!({
            "patient": { "mrn": "SYN50001", "name": "Synthetic^Renamed", "ic": PATIENT_IC },
            "study": { "uid": UID_B1, "modalities": ["MR"] },
            "examinations": []
        }),
        rejected(
            ReasonCode::InvalidField,
            Some("study.uid"),
            Some(elsewhere),
            None,
        ),
    );
    k.command(
        "request-media whose CloudEvents subject is an IC number",
        CommandType::RequestMedia,
        template(s, CommandType::RequestMedia),
        |e| edit(e, "/subject", Some(json!(900_101_141_235u64))),
        not_json(&["invalid type: integer `…`"]),
    );
    k.raw(
        "start-preparing as a positional JSON array, not an object",
        CommandType::StartPreparing.routing_key(),
        |id| {
            json!([
                "1.0",
                id,
                "poison-test",
                CommandType::StartPreparing.type_name(),
                null,
                null,
                null,
                null,
                template(s, CommandType::StartPreparing)
            ])
            .to_string()
            .into_bytes()
        },
        not_json(&[]),
    );
    let start = CommandType::StartPreparing;
    k.data(
        "start-preparing by an actor with a NUL character",
        start,
        edit(template(s, start), "/actor", Some(json!("rad1\u{0}"))),
        bad_attribute("data/actor holds a NUL character"),
    );
    k.data(
        "request-media with a NUL in the media type",
        CommandType::RequestMedia,
        edit(
            template(s, CommandType::RequestMedia),
            "/media_type",
            Some(json!("CD\u{0}")),
        ),
        bad_attribute("data/media_type holds a NUL character"),
    );
    k.data(
        "register with a NUL in a modality",
        register,
        edit(
            template(s, register),
            "/study/modalities",
            Some(json!(["CT\u{0}"])),
        ),
        bad_attribute("data/study/modalities/0 holds a NUL character"),
    );
    k.data(
        "register with a NUL in a series description",
        register,
        edit(
            template(s, register),
            "/examinations/0/description",
            Some(json!("axial\u{0}")),
        ),
        bad_attribute("data/examinations/0/description holds a NUL character"),
    );
    k.data(
        "cancel by a reference with a NUL",
        CommandType::Cancel,
        edit(
            template(s, CommandType::Cancel),
            "/target",
            Some(json!({"reference": "MD-1\u{0}"})),
        ),
        bad_attribute("data/target/reference holds a NUL character"),
    );
    k.cases
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_corners_the_corpus_found_stay_fixed() {
    let env = TestEnv::start().await;
    let seeded = seed(&env).await;
    let cases = gap_corpus(&seeded);
    let before = snapshot(&env).await;
    let run = run_corpus(&env, &cases).await;
    let mut failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            judge(case, &run.answers, &run.dead, &env.config)
                .err()
                .map(|why| format!("{} {}: {why}", case.id, case.what))
        })
        .collect();
    failures.extend(leaks(&run.dead));
    let after = snapshot(&env).await;
    failures.extend(changes(&before, &after));
    let _ = run.producer.conn.close(200, "bye").await;
    env.stop().await;
    assert!(
        failures.is_empty(),
        "{} gaps:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
