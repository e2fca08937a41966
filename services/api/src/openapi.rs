//! `GET /api/openapi.json`: an OpenAPI 3.1 outline of every endpoint (paths,
//! methods, what each does, who may call it). Written by hand beside the
//! router; the contract tests pin the behaviour.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

const ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    ("/health", "get", "The process answers", "none"),
    ("/ready", "get", "PostgreSQL and RabbitMQ answer", "none"),
    ("/api/openapi.json", "get", "This document", "none"),
    ("/api/auth/login", "post", "{username, password} → {token, expires_at}", "none"),
    ("/api/auth/logout", "post", "Revokes the bearer token (and {refresh} if given)", "any"),
    ("/api/token/", "post", "The seed's {username, password} → {access, refresh}", "none"),
    ("/api/token/refresh/", "post", "The seed's {refresh} → {access}", "none"),
    ("/api/media-distributions/", "get", "Paginated list; filters status, media_type, urgency (comma lists), patient_id, study, from_date, to_date, search, ordering, page, page_size", "any"),
    ("/api/media-distributions/", "post", "Request media: study_ids (or daftar_id/daftar_ids), media_type, quantity, urgency, comments, requester", "CLERK, ADMIN"),
    ("/api/media-distributions/pending/", "get", "REQUESTED, PREPARING and READY", "any"),
    ("/api/media-distributions/ready/", "get", "READY", "any"),
    ("/api/media-distributions/stats/", "get", "Counts by status, media type, urgency; recent activity; turnaround; daily with from_date and to_date", "any"),
    ("/api/media-distributions/{id}/", "get", "Detail; {id} is the id or the reference MD-000042", "any"),
    ("/api/media-distributions/{id}/", "patch", "Change some of comments, urgency, quantity (while REQUESTED); unchanged values are no change", "CLERK, ADMIN"),
    ("/api/media-distributions/{id}/", "put", "Replace comments, urgency and quantity (all three required)", "CLERK, ADMIN"),
    ("/api/media-distributions/{id}/", "delete", "Delete with {reason} (or ?reason=); the audit trail stays", "ADMIN"),
    ("/api/media-distributions/{id}/start-preparing/", "post", "REQUESTED → PREPARING (PATCH too)", "RADIOGRAPHER, ADMIN"),
    ("/api/media-distributions/{id}/mark-ready/", "patch", "PREPARING → READY with {storage_location} (POST too)", "RADIOGRAPHER, ADMIN"),
    ("/api/media-distributions/{id}/collect/", "patch", "READY → COLLECTED: collected_by, collected_by_ic, collected_by_doc_type, relationship_to_patient, authority_reference, document_seen, slip (POST too); the server's clock", "RECEPTION, ADMIN"),
    ("/api/media-distributions/{id}/cancel/", "patch", "→ CANCELLED with {reason} (POST too)", "ADMIN"),
    ("/api/media-distributions/{id}/restore/", "patch", "Refused: CANCELLED is final (409 ILLEGAL_TRANSITION)", "any"),
    ("/api/media-distributions/{id}/reprint-slip/", "post", "A new slip (its code in `slip`); the old slip stops working", "CLERK, RECEPTION, ADMIN"),
    ("/api/media-distributions/{id}/audit/", "get", "The audit trail, oldest first", "any"),
    ("/api/commands/{id}/", "get", "The outcome of a command answered 202", "any"),
    ("/api/patients/", "get", "Search patients: ?search= name, MRN or IC", "any"),
    ("/api/patients/{id}/studies/", "get", "A patient's studies with their examinations", "any"),
    ("/api/patients/{id}/disclosures/", "get", "Every copy handed over: what, to whom, when, by whom", "RECEPTION, ADMIN"),
];

pub fn document() -> Value {
    let mut paths = Map::new();
    for (path, method, summary, roles) in ENDPOINTS {
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        let mut op = json!({
            "summary": summary,
            "x-roles": roles,
            "responses": {
                "200": { "description": "OK" },
                "default": { "description": "Problem details", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } }
            }
        });
        if *roles != "none" {
            op["security"] = json!([{ "bearer": [] }]);
        }
        if path.contains("{id}") {
            op["parameters"] = json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
        }
        entry[*method] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mediadist API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Radiology media distribution. Changes are commands answered by the workers: 409 for an illegal transition (with the domain's reason code), 422 naming the field, 202 when a command was not answered in time (send it again with the same Idempotency-Key).",
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
