//! Errors as problem-details JSON (RFC 9457, `application/problem+json`):
//! `type`, `title`, `status`, `detail`, plus `code` (the domain's reason
//! code) and `field` when one value was at fault, and `error` carrying the
//! same message for clients written against the seed's `{"error": ...}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mediadist_domain::{FieldError, ReasonCode, Rejection};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status}: {detail}")]
pub struct Problem {
    pub status: StatusCode,
    pub code: Option<String>,
    pub field: Option<String>,
    pub detail: String,
    /// Extra headers (`WWW-Authenticate`, `Allow`).
    pub www_authenticate: bool,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<i64>,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            status,
            code: None,
            field: None,
            detail: detail.into(),
            www_authenticate: false,
            retry_after: None,
        }
    }

    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401: no credentials, or credentials that are not (or no longer) valid.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut p = Problem::new(StatusCode::UNAUTHORIZED, detail).code("UNAUTHENTICATED");
        p.www_authenticate = true;
        p
    }

    /// 403: known caller, step not allowed for the role.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, detail).code(ReasonCode::Forbidden.as_str())
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, detail).code(ReasonCode::NotFound.as_str())
    }

    /// 400: the request itself cannot be read (malformed JSON, unknown fields).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, detail).code("MALFORMED_REQUEST")
    }

    /// 422: one value is wrong, and which one.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
            .code(ReasonCode::InvalidField.as_str())
            .field(field)
    }

    /// 429: too many wrong passwords in a row; try again after `until`.
    pub fn sign_in_closed(until: chrono::DateTime<chrono::Utc>) -> Self {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            mediadist_platform::throttle::closed_message(until),
        )
        .code(ReasonCode::SignInClosed.as_str());
        p.retry_after = Some((until - chrono::Utc::now()).num_seconds().max(1));
        p
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail).code("UNAVAILABLE")
    }

    /// 500 without details: the cause goes to the log, not to the client.
    pub fn internal(what: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %what, "request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server could not complete the request; it has been logged",
        )
        .code("INTERNAL")
    }

    /// A refused command as HTTP: illegal transitions 409, bad values 422,
    /// role refusals 403, unknown distributions 404.
    pub fn from_rejection(r: &Rejection) -> Self {
        use ReasonCode::*;
        let status = match r.code {
            InvalidField
            | UnknownStudy
            | StudiesOfDifferentPatients
            | IdentityMismatch
            | AuthorityRequired
            | DocumentNotSeen
            | TokenInvalid
            | TokenSuperseded
            | CommandIdReused => StatusCode::UNPROCESSABLE_ENTITY,
            NotFound => StatusCode::NOT_FOUND,
            DuplicateActiveRequest
            | IllegalTransition
            | AlreadyCollected
            | AlreadyCancelled
            | NotReady
            | VersionConflict => StatusCode::CONFLICT,
            Forbidden | UnknownStaff | StaffInactive => StatusCode::FORBIDDEN,
            SignInClosed => StatusCode::TOO_MANY_REQUESTS,
        };
        let field = r.field.as_deref().map(api_field).or(match r.code {
            IdentityMismatch => Some("collected_by_ic".to_string()),
            AuthorityRequired => Some("authority_reference".to_string()),
            DocumentNotSeen => Some("document_seen".to_string()),
            CommandIdReused => Some("Idempotency-Key".to_string()),
            _ => None,
        });
        // The domain's field errors read "field: reason"; say it with the API's name.
        let detail = match (&r.field, r.code) {
            (Some(f), InvalidField) => {
                let reason = r
                    .message
                    .strip_prefix(&format!("{f}: "))
                    .unwrap_or(&r.message);
                format!("{}: {reason}", api_field(f))
            }
            // The API's command ids are the client's keys.
            (_, CommandIdReused) => "Idempotency-Key: already used for a different request; nothing was changed. Use a new key for a new request".to_string(),
            _ => r.message.clone(),
        };
        Problem {
            status,
            code: Some(r.code.as_str().to_string()),
            field,
            detail,
            www_authenticate: false,
            retry_after: None,
        }
    }
}

/// The command's field names as the API's clients know them.
pub fn api_field(command_field: &str) -> String {
    let f = command_field;
    let mapped = match f {
        "collector.name" => "collected_by",
        "collector.document.number" | "collector.document" => "collected_by_ic",
        "collector.document.type" => "collected_by_doc_type",
        "collector.document.country" => "collected_by_doc_country",
        "collector.document.description" => "collected_by_doc_description",
        "collector.relationship" => "relationship_to_patient",
        "collector.relationship_other" => "relationship_other",
        "collector.authority_reference" => "authority_reference",
        "target" | "target.distribution_id" | "target.reference" => "id",
        _ => {
            if let Some(rest) = f.strip_prefix("study_uids") {
                return format!("study_ids{rest}");
            }
            f
        }
    };
    mapped.to_string()
}

impl From<FieldError> for Problem {
    fn from(e: FieldError) -> Self {
        Problem::invalid(
            api_field(&e.field),
            format!("{}: {}", api_field(&e.field), e.reason),
        )
    }
}

impl From<sqlx::Error> for Problem {
    fn from(e: sqlx::Error) -> Self {
        if mediadist_platform::db::is_transient(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Problem::unavailable("the database is not answering; try again shortly");
        }
        Problem::internal(&e)
    }
}

fn title(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("Error")
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let kind = match &self.code {
            Some(c) => format!("urn:mediadist:problem:{c}"),
            None => "about:blank".to_string(),
        };
        let body = json!({
            "type": kind,
            "title": title(self.status),
            "status": self.status.as_u16(),
            "detail": self.detail,
            "code": self.code,
            "field": self.field,
            "error": self.detail,
        });
        let mut res = (self.status, body.to_string()).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.www_authenticate {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mediadist\""),
            );
        }
        if let Some(secs) = self.retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_map_to_statuses_and_api_fields() {
        let r = Rejection::new(ReasonCode::IllegalTransition, "cannot");
        let p = Problem::from_rejection(&r);
        assert_eq!(p.status, StatusCode::CONFLICT);
        assert_eq!(p.code.as_deref(), Some("ILLEGAL_TRANSITION"));
        let r: Rejection =
            FieldError::new("collector.document.number", "a MyKad number has 12 digits").into();
        let p = Problem::from_rejection(&r);
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.field.as_deref(), Some("collected_by_ic"));
        assert_eq!(p.detail, "collected_by_ic: a MyKad number has 12 digits");
        assert_eq!(api_field("study_uids[2]"), "study_ids[2]");
    }
}
