//! CloudEvents 1.0 structured JSON: the one envelope of every command and
//! event. Parsing checks the required attributes and nothing about `data`;
//! the command's own validation does that.

use crate::catalog::CommandType;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The largest message a worker will read; anything bigger is poison.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<String>,
    /// Extension attribute: ties a command to its events and reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlationid: Option<String>,
    #[serde(default)]
    pub data: serde_json::Value,
}

impl CloudEvent {
    pub fn new(
        id: String,
        source: &str,
        kind: String,
        time: DateTime<Utc>,
        data: serde_json::Value,
    ) -> Self {
        CloudEvent {
            specversion: "1.0".into(),
            id,
            source: source.into(),
            kind,
            time: Some(time),
            subject: None,
            datacontenttype: Some("application/json".into()),
            correlationid: None,
            data,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is {0} bytes, more than the {MAX_MESSAGE_BYTES} allowed")]
    TooLarge(usize),
    #[error("message is not UTF-8 JSON: {0}")]
    NotJson(String),
    #[error("not a CloudEvents 1.0 envelope: {0}")]
    BadAttribute(String),
    #[error("unknown command type '{0}'")]
    UnknownType(String),
}

/// A command envelope whose type is one we know.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandEnvelope {
    pub command: CommandType,
    pub event: CloudEvent,
}

impl CommandEnvelope {
    /// What makes two sends the same command, so a reused id can be told
    /// from a resend: the type, the subject and the data (object keys in
    /// sorted order). Not the id, time, source or correlation, which a
    /// resend may change.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.event.kind.as_bytes());
        h.update([0]);
        h.update(self.event.subject.as_deref().unwrap_or("").as_bytes());
        h.update([0]);
        canonical(&self.event.data, &mut h);
        h.finalize().into()
    }
}

/// JSON with each object's keys sorted, whatever order it arrived in.
fn canonical(v: &serde_json::Value, h: &mut sha2::Sha256) {
    use serde_json::Value;
    use sha2::Digest;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            h.update(b"{");
            for k in keys {
                h.update(Value::String(k.clone()).to_string().as_bytes());
                h.update(b":");
                canonical(&map[k], h);
                h.update(b",");
            }
            h.update(b"}");
        }
        Value::Array(items) => {
            h.update(b"[");
            for i in items {
                canonical(i, h);
                h.update(b",");
            }
            h.update(b"]");
        }
        other => h.update(other.to_string().as_bytes()),
    }
}

pub fn parse_command(bytes: &[u8]) -> Result<CommandEnvelope, EnvelopeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(EnvelopeError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
    // Serde would also read the struct from a positional array.
    if !text.trim_start().starts_with('{') {
        return Err(EnvelopeError::NotJson(
            "a CloudEvents envelope is a JSON object".into(),
        ));
    }
    let ev: CloudEvent = serde_json::from_str(text)
        .map_err(|e| EnvelopeError::NotJson(redact_values(&e.to_string())))?;
    if ev.specversion != "1.0" {
        return Err(EnvelopeError::BadAttribute(format!(
            "specversion '{}' is not 1.0",
            ev.specversion
        )));
    }
    let attr_ok = |s: &str| !s.is_empty() && s.len() <= 256 && !s.chars().any(char::is_control);
    if !attr_ok(&ev.id) {
        return Err(EnvelopeError::BadAttribute(
            "id must be 1 to 256 printable characters".into(),
        ));
    }
    if !attr_ok(&ev.source) {
        return Err(EnvelopeError::BadAttribute(
            "source must be 1 to 256 printable characters".into(),
        ));
    }
    if !ev.data.is_object() {
        return Err(EnvelopeError::BadAttribute(
            "data must be a JSON object".into(),
        ));
    }
    // No field of any command may hold a NUL: PostgreSQL cannot store one,
    // and no name, number or reference has one.
    if let Some(path) = nul_at(&ev.data, String::new()) {
        return Err(EnvelopeError::BadAttribute(format!(
            "data{path} holds a NUL character"
        )));
    }
    let command = CommandType::from_type_name(&ev.kind)
        .ok_or_else(|| EnvelopeError::UnknownType(ev.kind.clone()))?;
    Ok(CommandEnvelope { command, event: ev })
}

/// Where in `v` a string (or key) holds a NUL, as a JSON pointer. No field
/// of any command may hold one: PostgreSQL cannot store it, and no name,
/// number or reference has one.
pub fn nul_at(v: &serde_json::Value, at: String) -> Option<String> {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(at),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_at(item, format!("{at}/{i}"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                Some(at.clone())
            } else {
                nul_at(item, format!("{at}/{k}"))
            }
        }),
        _ => None,
    }
}

/// Serde's messages quote the offending value (`invalid type: integer
/// \`850612145523\``); reasons are logged and put in headers, so values are
/// cut out. Field names (`unknown field`, `missing field`) stay: they are
/// what an integrator needs and never personal.
pub fn redact_values(message: &str) -> String {
    if message.starts_with("unknown field") || message.starts_with("missing field") {
        return message.to_string();
    }
    let mut out = String::with_capacity(message.len());
    let mut closing: Option<char> = None;
    for c in message.chars() {
        match closing {
            Some(end) if c == end => {
                out.push('…');
                out.push(c);
                closing = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '`' || c == '"' {
                    closing = Some(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(kind: &str) -> serde_json::Value {
        serde_json::json!({"specversion":"1.0","id":"c-1","source":"test","type":kind,"data":{"actor":"x"}})
    }

    #[test]
    fn a_resend_has_the_same_fingerprint_and_a_different_command_does_not() {
        let parse = |text: &str| {
            parse_command(text.as_bytes())
                .expect("envelope")
                .fingerprint()
        };
        let kind = "org.mediadist.command.cancel.v1";
        let first = parse(&format!(
            r#"{{"specversion":"1.0","id":"k-1","source":"api","type":"{kind}","subject":"7","data":{{"actor":"desk1","reason":"duplicate","n":[1,{{"b":2,"a":1}}]}}}}"#
        ));
        // Another id, time, source and key order: the same command.
        let resend = parse(&format!(
            r#"{{"specversion":"1.0","id":"k-2","source":"kiosk","time":"2026-12-04T01:00:00Z","type":"{kind}","subject":"7","data":{{"n":[1,{{"a":1,"b":2}}],"reason":"duplicate","actor":"desk1"}}}}"#
        ));
        assert_eq!(first, resend);
        for other in [
            r#""subject":"8","data":{"actor":"desk1","reason":"duplicate","n":[1,{"b":2,"a":1}]}"#,
            r#""subject":"7","data":{"actor":"desk1","reason":"wrong patient","n":[1,{"b":2,"a":1}]}"#,
            r#""subject":"7","data":{"actor":"desk1","reason":"duplicate","n":[{"b":2,"a":1},1]}"#,
            r#""data":{"actor":"desk1","reason":"duplicate","n":[1,{"b":2,"a":1}]}"#,
        ] {
            let changed = parse(&format!(
                r#"{{"specversion":"1.0","id":"k-1","source":"api","type":"{kind}",{other}}}"#
            ));
            assert_ne!(first, changed, "{other}");
        }
    }

    #[test]
    fn values_are_cut_out_of_serde_messages() {
        assert_eq!(
            redact_values(
                "invalid type: integer `850612145523`, expected a string at line 1 column 9"
            ),
            "invalid type: integer `…`, expected a string at line 1 column 9"
        );
        assert_eq!(
            redact_values("invalid type: string \"Ali\", expected i64"),
            "invalid type: string \"…\", expected i64"
        );
        assert_eq!(
            redact_values("unknown field `colour`, expected `name`"),
            "unknown field `colour`, expected `name`"
        );
        assert_eq!(
            redact_values("missing field `actor`"),
            "missing field `actor`"
        );
    }

    #[test]
    fn parses_a_known_command() {
        let e = parse_command(
            cmd("org.mediadist.command.handover.v1")
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(e.command, CommandType::Handover);
        assert_eq!(e.event.id, "c-1");
    }

    #[test]
    fn refuses_what_is_not_a_command() {
        let unknown = parse_command(cmd("org.mediadist.command.fly.v1").to_string().as_bytes());
        assert_eq!(
            unknown,
            Err(EnvelopeError::UnknownType(
                "org.mediadist.command.fly.v1".into()
            ))
        );
        assert!(matches!(
            parse_command(b"{not json"),
            Err(EnvelopeError::NotJson(_))
        ));
        assert!(matches!(
            parse_command(&[0xff, 0xfe, b'{']),
            Err(EnvelopeError::NotJson(_))
        ));
        let mut v = cmd("org.mediadist.command.handover.v1");
        v["specversion"] = "0.3".into();
        assert!(matches!(
            parse_command(v.to_string().as_bytes()),
            Err(EnvelopeError::BadAttribute(_))
        ));
        let mut v = cmd("org.mediadist.command.handover.v1");
        v["id"] = "".into();
        assert!(matches!(
            parse_command(v.to_string().as_bytes()),
            Err(EnvelopeError::BadAttribute(_))
        ));
        let mut v = cmd("org.mediadist.command.handover.v1");
        v["data"] = "text".into();
        assert!(matches!(
            parse_command(v.to_string().as_bytes()),
            Err(EnvelopeError::BadAttribute(_))
        ));
        let big = vec![b' '; MAX_MESSAGE_BYTES + 1];
        assert_eq!(
            parse_command(&big),
            Err(EnvelopeError::TooLarge(MAX_MESSAGE_BYTES + 1))
        );
    }
}
