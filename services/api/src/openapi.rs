//! `GET /api/openapi.json`: an OpenAPI 3.1 outline of every endpoint (paths,
//! methods, what each does, who may call it). Written by hand beside the
//! router; the contract tests pin the behaviour.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// (path, methods, what it does, who may call it, success status).
/// Several methods: the same operation under each (the seed's POST and the
/// document's PATCH are both accepted).
const ENDPOINTS: &[(&str, &[&str], &str, &str, u16)] = &[
    ("/health", &["get"], "The process answers (/health/ too)", "none", 200),
    ("/ready", &["get"], "PostgreSQL and RabbitMQ answer, and a worker reads each stage (status ready, degraded or 503 not ready; /ready/ too)", "none", 200),
    ("/api/openapi.json", &["get"], "This document", "none", 200),
    ("/api/auth/login", &["post"], "{username, password} → {token, token_type, expires_at}; 429 SIGN_IN_CLOSED after five wrong passwords in a row", "none", 200),
    ("/api/auth/logout", &["post"], "Ends the bearer token's sign-in (every token of it)", "any", 204),
    ("/api/token/", &["post"], "The seed's {username, password} → {access, refresh}", "none", 200),
    ("/api/token/refresh/", &["post"], "The seed's {refresh} → {access}", "none", 200),
    ("/api/media-distributions/", &["get"], "Paginated list {count, next, previous, results}", "any", 200),
    ("/api/media-distributions/", &["post"], "Request media: study_ids (or daftar_id/daftar_ids), media_type, quantity, urgency, comments, requester", "CLERK, ADMIN", 201),
    ("/api/media-distributions/pending/", &["get"], "REQUESTED, PREPARING and READY, paginated", "any", 200),
    ("/api/media-distributions/ready/", &["get"], "READY, paginated, with storage_location", "any", 200),
    ("/api/media-distributions/stats/", &["get"], "Counts by status, media type, urgency; recent activity; turnaround over the dates given or the last 30 days; daily with from_date and to_date", "any", 200),
    ("/api/media-distributions/{id}/", &["get"], "Detail; {id} is the id or the reference MD-000042", "any", 200),
    ("/api/media-distributions/{id}/", &["patch"], "Change some of comments, urgency, quantity (while REQUESTED); other fields may be sent back unchanged; unchanged values are no change", "CLERK, ADMIN", 200),
    ("/api/media-distributions/{id}/", &["put"], "Replace comments, urgency and quantity (all three required); other fields may be sent back unchanged; a stale version is 409", "CLERK, ADMIN", 200),
    ("/api/media-distributions/{id}/", &["delete"], "Delete with {reason} (or ?reason=); the audit trail stays", "ADMIN", 204),
    ("/api/media-distributions/{id}/start-preparing/", &["post", "patch"], "REQUESTED → PREPARING", "RADIOGRAPHER, ADMIN", 200),
    ("/api/media-distributions/{id}/mark-ready/", &["patch", "post"], "PREPARING → READY with {storage_location} (required)", "RADIOGRAPHER, ADMIN", 200),
    ("/api/media-distributions/{id}/collect/", &["patch", "post"], "READY → COLLECTED: collected_by, collected_by_ic, collected_by_doc_type, relationship_to_patient, authority_reference, document_seen, comments, slip; the server's clock", "RECEPTION, ADMIN", 200),
    ("/api/media-distributions/{id}/cancel/", &["patch", "post"], "→ CANCELLED with {reason}", "ADMIN", 200),
    ("/api/media-distributions/{id}/restore/", &["patch", "post"], "Refused: CANCELLED is final (409 ILLEGAL_TRANSITION)", "any", 409),
    ("/api/media-distributions/{id}/reprint-slip/", &["post"], "A new slip (its code in `slip`); the old slip stops working", "CLERK, RECEPTION, ADMIN", 200),
    ("/api/media-distributions/{id}/audit/", &["get"], "The audit trail, oldest first", "any", 200),
    ("/api/commands/{id}/", &["get"], "The outcome of a command answered 202 (202 while none is recorded)", "any", 200),
    ("/api/patients/", &["get"], "Search patients by name (words in any order), MRN or whole IC", "any", 200),
    ("/api/patients/{id}/studies/", &["get"], "A patient's studies with their examinations", "any", 200),
    ("/api/patients/{id}/disclosures/", &["get"], "Every copy handed over: what, to whom, when, by whom", "RECEPTION, ADMIN", 200),
];

fn query(name: &str, description: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": description })
}

/// The list's query parameters (the list, pending and ready).
fn list_parameters() -> Vec<Value> {
    vec![
        query("status", "REQUESTED, PREPARING, READY, COLLECTED, CANCELLED; one or a comma list"),
        query("media_type", "CD, DVD, XRAY_FILM, USB, DIGITAL_COPY; one or a comma list"),
        query("urgency", "NORMAL, URGENT, STAT; one or a comma list"),
        query("patient_id", "a patient's id"),
        query("study", "a study's id or study instance UID"),
        query("from_date", "request date from, YYYY-MM-DD"),
        query("to_date", "request date to (inclusive), YYYY-MM-DD"),
        query("search", "patient name words, MRN, collector name, document number, comments or reference; up to 100 characters; SQL punctuation is 422"),
        query("ordering", "request_date, collection_datetime, status, urgency or id; - for descending; default -request_date"),
        query("page", "from 1"),
        query("page_size", "default 25, at most 100"),
        query("as_of", "the newest id the first page saw (the next/previous links carry it)"),
    ]
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, methods, summary, roles, ok) in ENDPOINTS {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        for method in *methods {
            let mut responses = json!({
                ok.to_string(): { "description": "Done" },
                "default": { "description": "Problem details", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            });
            let changes =
                !matches!(*method, "get") && *roles != "none" && !path.starts_with("/api/auth");
            let mut parameters = Vec::new();
            if path.contains("{id}") {
                parameters.push(json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }));
            }
            if changes {
                responses["202"] = json!({ "description": "Sent but not answered in time: see Location, or send again with the same Idempotency-Key" });
                parameters.push(json!({ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 100 },
                    "description": "Applied once however often sent; the same key for a different request is 422 COMMAND_ID_REUSED" }));
            }
            if *method == "get"
                && matches!(
                    *path,
                    "/api/media-distributions/"
                        | "/api/media-distributions/pending/"
                        | "/api/media-distributions/ready/"
                )
            {
                parameters.extend(list_parameters());
            }
            if *path == "/api/media-distributions/stats/" {
                parameters.push(query("from_date", "YYYY-MM-DD"));
                parameters.push(query(
                    "to_date",
                    "YYYY-MM-DD, at most 366 days after from_date",
                ));
            }
            if *path == "/api/patients/" {
                parameters.push(query("search", "1 to 100 characters"));
            }
            let mut op = json!({ "summary": summary, "x-roles": roles, "responses": responses });
            if !parameters.is_empty() {
                op["parameters"] = Value::Array(parameters);
            }
            if *roles != "none" {
                op["security"] = json!([{ "bearer": [] }]);
            }
            entry[*method] = op;
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mediadist API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Radiology media distribution. Changes are commands answered by the workers: 409 for an illegal transition (with the domain's reason code), 422 naming the field, 202 when a command was not answered in time (send it again with the same Idempotency-Key). Bodies are JSON objects up to 16 KiB; unknown fields are 400.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                        "detail": { "type": "string" }, "code": { "type": ["string", "null"] },
                        "field": { "type": ["string", "null"] }, "error": { "type": "string" }
                    }
                }
            }
        }
    })
}

pub async fn openapi() -> Response {
    Json(document()).into_response()
}
