//! Request bodies: read as bytes (so the size limit answers 413 as problem
//! details), parsed with the path of the value at fault. Malformed JSON and
//! unknown fields are 400; a value of the wrong type or a missing field is
//! 422 naming the field.

use crate::problem::{api_field, Problem};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use mediadist_domain::envelope::redact_values;
use serde::de::DeserializeOwned;

/// Bodies larger than this are refused with 413. A quarter of the command
/// size limit (`envelope::MAX_MESSAGE_BYTES`): whatever is accepted here
/// fits in a command even if every character needs escaping, so a large body
/// gets the domain's field error (`comments: at most 1000 characters`), not a
/// dead letter. No valid request comes near it.
pub const MAX_BODY: usize = mediadist_domain::envelope::MAX_MESSAGE_BYTES / 4;

/// Parses a JSON object body. An empty body counts as `{}`.
pub fn parse<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, Problem> {
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {} KiB", MAX_BODY / 1024),
            )
            .code("BODY_TOO_LARGE")
        } else {
            Problem::bad_request(format!("the body could not be read: {e}"))
        }
    })?;
    let text: &[u8] = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        b"{}"
    } else {
        &bytes
    };
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::bad_request("the body must be a JSON object"));
    }
    // The domain refuses a NUL in any field; say which here, before the
    // command is built (it would be dead-lettered, and a NUL in a login
    // username would reach PostgreSQL, which cannot store one).
    if text.windows(6).any(|w| w == b"\\u0000") {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(text) {
            if let Some(at) = mediadist_domain::envelope::nul_at(&v, String::new()) {
                let field = api_field(&at.trim_start_matches('/').replace('/', "."));
                return Err(Problem::invalid(
                    field.clone(),
                    format!("{field}: a NUL character is not allowed"),
                ));
            }
        }
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(v) => {
            de.end()
                .map_err(|_| Problem::bad_request("the body has more after its JSON object"))?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.to_string();
            // serde_json appends " at line L column C"; the position is noise here.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            match inner.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => Err(
                    Problem::bad_request(format!("the body is not valid JSON: {msg}")),
                ),
                _ if msg.starts_with("unknown field") => {
                    let field = msg
                        .split('`')
                        .nth(1)
                        .map(|f| join(&path, f))
                        .unwrap_or_else(|| path.clone());
                    Err(
                        Problem::bad_request(format!("{}: {msg}", api_field(&field)))
                            .code("UNKNOWN_FIELD")
                            .field(api_field(&field)),
                    )
                }
                // A key twice: which value was meant is anyone's guess.
                _ if msg.starts_with("duplicate field") => {
                    let field = msg
                        .split('`')
                        .nth(1)
                        .map(|f| join(&path, f))
                        .unwrap_or_else(|| path.clone());
                    Err(Problem::bad_request(format!(
                        "{}: appears more than once in the body",
                        api_field(&field)
                    ))
                    .code("DUPLICATE_FIELD")
                    .field(api_field(&field)))
                }
                _ if msg.starts_with("missing field") => {
                    let field = msg
                        .split('`')
                        .nth(1)
                        .map(|f| join(&path, f))
                        .unwrap_or_else(|| path.clone());
                    Err(Problem::invalid(
                        api_field(&field),
                        format!("{}: is required", api_field(&field)),
                    ))
                }
                _ => {
                    let field = if path == "." { String::new() } else { path };
                    // serde's words for a value of neither accepted shape name
                    // a Rust type; say what the API takes instead.
                    let msg = if msg.contains("untagged enum StudyKey") {
                        "must be a study id (a number) or a study instance UID (text)".to_string()
                    } else {
                        redact_values(&msg)
                    };
                    Err(Problem::invalid(
                        api_field(&field),
                        format!("{}: {msg}", api_field(&field)),
                    ))
                }
            }
        }
    }
}

/// A JSON object whose keys are each given once (serde_json's map keeps the
/// last of a repeated key without a word): for bodies read as free objects.
pub struct Object(pub serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Object;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Object, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("duplicate field `{k}`")));
                    }
                    out.insert(k, v);
                }
                Ok(Object(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn join(path: &str, field: &str) -> String {
    if path == field || path.ends_with(&format!(".{field}")) {
        path.to_string()
    } else if path.is_empty() || path == "." {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        quantity: i64,
        #[serde(default)]
        comments: Option<String>,
    }

    fn p(s: &str) -> Result<T, Problem> {
        parse::<T>(Ok(Bytes::from(s.to_string())))
    }

    #[test]
    fn classifies_errors() {
        assert!(p(r#"{"quantity": 2}"#).is_ok());
        let e = p(r#"{"quantity": 2"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = p(r#"{"quantity": 2, "colour": 1}"#).unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::BAD_REQUEST, Some("colour"))
        );
        let e = p(r#"{"quantity": "two"}"#).unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity"))
        );
        assert!(!e.detail.contains("two"), "{}", e.detail);
        let e = p(r#"{}"#).unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("quantity"))
        );
        let e = p(r#"[1]"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = p(r#"{"quantity": 2, "comments": "a\u0000b"}"#).unwrap_err();
        assert_eq!(
            (e.status, e.field.as_deref(), e.detail.as_str()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("comments"),
                "comments: a NUL character is not allowed"
            )
        );
        // An escaped backslash before u0000 is no NUL.
        assert!(p(r#"{"quantity": 2, "comments": "a\\u0000b"}"#).is_ok());
        let e = parse::<Object>(Ok(Bytes::from(r#"{"comments": "a", "comments": "b"}"#)))
            .err()
            .expect("refused");
        assert_eq!(
            (e.code.as_deref(), e.field.as_deref()),
            (Some("DUPLICATE_FIELD"), Some("comments"))
        );
        let e = p(r#"{"quantity": 2, "quantity": 3}"#).unwrap_err();
        assert_eq!(
            (
                e.status,
                e.code.as_deref(),
                e.field.as_deref(),
                e.detail.as_str()
            ),
            (
                StatusCode::BAD_REQUEST,
                Some("DUPLICATE_FIELD"),
                Some("quantity"),
                "quantity: appears more than once in the body"
            )
        );
    }
}
