//! The list's query parameters: filters (each of status, media_type and
//! urgency takes one value or a comma list), search, ordering, and page
//! pagination pinned to the rows that existed when the first page was read.

use crate::problem::Problem;
use chrono::NaiveDate;
use mediadist_domain::{MediaType, Mykad, Reference, SearchText, Status, Urgency};
use mediadist_platform::db::escape_like;
use sqlx::{Postgres, QueryBuilder};

pub const DEFAULT_PAGE_SIZE: i64 = 25;

/// A collector's document number as searched: the passport number without
/// its country, any other number as stored; the expression of the index
/// `media_distributions_document` (migration 0004).
const DOCUMENT_NUMBER: &str = "upper(CASE WHEN collected_by_doc_type = 'PASSPORT' THEN split_part(collected_by_ic, ':', 2) ELSE collected_by_ic END)";
pub const MAX_PAGE_SIZE: i64 = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StudyRef {
    Id(i64),
    Uid(String),
}

#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub statuses: Vec<Status>,
    pub media_types: Vec<MediaType>,
    pub urgencies: Vec<Urgency>,
    pub patient_id: Option<i64>,
    pub study: Option<StudyRef>,
    pub from_date: Option<NaiveDate>,
    pub to_date: Option<NaiveDate>,
    pub search: Option<String>,
    /// `(sql, descending)` pairs.
    pub ordering: Vec<(&'static str, bool)>,
    pub page: i64,
    pub page_size: i64,
    /// Only rows with an id up to this one: later pages see the same rows
    /// as the first even while new requests arrive.
    pub as_of: Option<i64>,
}

fn values<'a>(params: &'a [(String, String)], name: &str) -> impl Iterator<Item = &'a str> {
    let name = name.to_string();
    params
        .iter()
        .filter(move |(k, _)| *k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn last<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn positive(params: &[(String, String)], name: &str) -> Result<Option<i64>, Problem> {
    match last(params, name) {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Problem::invalid(
                name,
                format!("{name}: must be a positive whole number"),
            )),
        },
    }
}

fn date(params: &[(String, String)], name: &str) -> Result<Option<NaiveDate>, Problem> {
    match last(params, name) {
        None => Ok(None),
        Some(v) => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| Problem::invalid(name, format!("{name}: a date as YYYY-MM-DD"))),
    }
}

fn ordering_column(name: &str) -> Option<&'static str> {
    Some(match name {
        "request_date" => "d.request_date",
        "collection_datetime" => "d.collection_datetime",
        // In workflow order, and by how urgent: not alphabetically.
        "status" => "CASE d.status WHEN 'REQUESTED' THEN 0 WHEN 'PREPARING' THEN 1 WHEN 'READY' THEN 2 WHEN 'COLLECTED' THEN 3 ELSE 4 END",
        "urgency" => "CASE d.urgency WHEN 'NORMAL' THEN 0 WHEN 'URGENT' THEN 1 ELSE 2 END",
        "id" => "d.id",
        _ => return None,
    })
}

/// Not-yet-collected rows sort last either way; the NOT NULL columns keep
/// the plain order so the `(request_date, id)` index serves it.
fn order_suffix(col: &str, desc: bool) -> &'static str {
    match (col == "d.collection_datetime", desc) {
        (true, true) => " DESC NULLS LAST, ",
        (true, false) => " ASC NULLS LAST, ",
        (false, true) => " DESC, ",
        (false, false) => " ASC, ",
    }
}

impl ListQuery {
    pub fn parse(params: &[(String, String)]) -> Result<Self, Problem> {
        let statuses = values(params, "status")
            .map(|v| Status::parse(v, "status"))
            .collect::<Result<Vec<_>, _>>()?;
        let media_types = values(params, "media_type")
            .map(|v| MediaType::parse(v, "media_type"))
            .collect::<Result<Vec<_>, _>>()?;
        let urgencies = values(params, "urgency")
            .map(|v| Urgency::parse(v, "urgency"))
            .collect::<Result<Vec<_>, _>>()?;
        let study = match last(params, "study") {
            None => None,
            Some(v) if v.bytes().all(|b| b.is_ascii_digit()) => match v.parse::<i64>() {
                Ok(n) if n > 0 => Some(StudyRef::Id(n)),
                _ => {
                    return Err(Problem::invalid(
                        "study",
                        "study: a study id or a study instance UID",
                    ))
                }
            },
            Some(v) => Some(StudyRef::Uid(
                mediadist_domain::StudyUid::parse(v, "study")?
                    .as_str()
                    .to_string(),
            )),
        };
        let from_date = date(params, "from_date")?;
        let to_date = date(params, "to_date")?;
        if let (Some(a), Some(b)) = (from_date, to_date) {
            if a > b {
                return Err(Problem::invalid("to_date", "to_date: is before from_date"));
            }
        }
        let search = last(params, "search")
            .map(|s| SearchText::parse(s, "search").map(|s| s.as_str().to_string()))
            .transpose()?;
        let mut ordering = Vec::new();
        for o in values(params, "ordering") {
            let (name, desc) = match o.strip_prefix('-') {
                Some(n) => (n, true),
                None => (o, false),
            };
            let col = ordering_column(name).ok_or_else(|| {
                Problem::invalid(
                    "ordering",
                    format!("ordering: '{name}' is not one of request_date, collection_datetime, status (workflow order), urgency (by severity), id (- for descending)"),
                )
            })?;
            ordering.push((col, desc));
        }
        if ordering.is_empty() {
            ordering.push(("d.request_date", true));
        }
        let page = positive(params, "page")?.unwrap_or(1);
        let page_size = positive(params, "page_size")?
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .min(MAX_PAGE_SIZE);
        Ok(ListQuery {
            statuses,
            media_types,
            urgencies,
            patient_id: positive(params, "patient_id")?,
            study,
            from_date,
            to_date,
            search,
            ordering,
            page,
            page_size,
            as_of: positive(params, "as_of")?,
        })
    }

    /// Appends ` AND col = ANY(...)` for the status, media type and urgency
    /// filters, on the table aliased `alias`.
    fn push_tallied(&self, q: &mut QueryBuilder<'_, Postgres>, alias: &str) {
        let lists: [(&str, Vec<String>); 3] = [
            (
                "status",
                self.statuses
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
            (
                "media_type",
                self.media_types
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
            (
                "urgency",
                self.urgencies
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
            ),
        ];
        for (column, values) in lists {
            if !values.is_empty() {
                q.push(format!(" AND {alias}.{column} = ANY("))
                    .push_bind(values)
                    .push(")");
            }
        }
    }

    /// Only status, media type and urgency filter: `distribution_counts`
    /// (migration 0005) knows the count.
    fn tallied(&self) -> bool {
        self.patient_id.is_none()
            && self.study.is_none()
            && self.from_date.is_none()
            && self.to_date.is_none()
            && self.search.is_none()
    }

    /// Appends ` WHERE ...` for these filters.
    pub fn push_where(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" WHERE d.deleted_at IS NULL");
        self.push_tallied(q, "d");
        if let Some(p) = self.patient_id {
            q.push(" AND d.patient_id = ").push_bind(p);
        }
        match &self.study {
            Some(StudyRef::Id(id)) => {
                q.push(" AND EXISTS (SELECT 1 FROM distribution_studies ds WHERE ds.distribution_id = d.id AND ds.study_id = ")
                    .push_bind(*id)
                    .push(")");
            }
            Some(StudyRef::Uid(uid)) => {
                q.push(" AND EXISTS (SELECT 1 FROM distribution_studies ds JOIN studies s ON s.id = ds.study_id WHERE ds.distribution_id = d.id AND s.study_uid = ")
                    .push_bind(uid.clone())
                    .push(")");
            }
            None => {}
        }
        if let Some(f) = self.from_date {
            q.push(" AND d.request_date >= CAST(")
                .push_bind(f)
                .push(" AS date)");
        }
        if let Some(t) = self.to_date {
            q.push(" AND d.request_date < CAST(")
                .push_bind(t)
                .push(" AS date) + 1");
        }
        if let Some(s) = &self.search {
            // Each way to match is its own indexed lookup of ids (trigram
            // indexes for the texts, btree for numbers), united: an OR
            // across tables would scan every row.
            let pattern = format!("%{}%", escape_like(s));
            let mykad = Mykad::parse(s, "search")
                .ok()
                .map(|m| m.digits().to_string());
            q.push(" AND d.id IN (SELECT d2.id FROM media_distributions d2 WHERE d2.patient_id IN (SELECT p.id FROM patients p WHERE ");
            push_name_match(q, "p.name", s);
            q.push(" OR p.mrn ILIKE ").push_bind(pattern.clone());
            if let Some(digits) = &mykad {
                // Identity numbers match whole, never in part.
                q.push(" OR p.ic = ").push_bind(digits.clone());
            }
            q.push(") UNION ALL SELECT id FROM media_distributions WHERE ");
            push_name_match(q, "collected_by", s);
            q.push(" UNION ALL SELECT id FROM media_distributions WHERE comments ILIKE ")
                .push_bind(pattern);
            if let Ok(r) = Reference::parse(s, "search") {
                q.push(" UNION ALL SELECT ").push_bind(r.id());
            }
            let number = mykad.unwrap_or_else(|| {
                s.chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_uppercase()
            });
            q.push(" UNION ALL SELECT id FROM media_distributions WHERE collected_by_ic IS NOT NULL AND ")
                .push(DOCUMENT_NUMBER)
                .push(" = ")
                .push_bind(number)
                .push(")");
        }
        if let Some(a) = self.as_of {
            q.push(" AND d.id <= ").push_bind(a);
        }
    }

    /// The number of rows these filters keep, as one bigint. Counting a
    /// million rows takes ~90 ms, so where the tallies can answer they do:
    /// their sum, less the rows that arrived after `as_of` (a short walk of
    /// the newest ids), in one statement so one snapshot sees both.
    pub fn count_query(&self) -> QueryBuilder<'static, Postgres> {
        if !self.tallied() {
            let mut q = QueryBuilder::new("SELECT count(*) FROM media_distributions d");
            self.push_where(&mut q);
            return q;
        }
        let mut q = QueryBuilder::new(
            "SELECT (SELECT coalesce(sum(c.n), 0)::bigint FROM distribution_counts c WHERE true",
        );
        self.push_tallied(&mut q, "c");
        q.push(")");
        if let Some(a) = self.as_of {
            q.push(" - (SELECT count(*) FROM media_distributions d WHERE d.deleted_at IS NULL");
            self.push_tallied(&mut q, "d");
            q.push(" AND d.id > ").push_bind(a).push(")");
        }
        q
    }

    /// One page of list items: the page's ids first (an index walk that
    /// stops after the page), then the joins and study summaries for them.
    pub fn page_query(&self) -> QueryBuilder<'static, Postgres> {
        let mut q = QueryBuilder::new("WITH page AS (SELECT d.id FROM media_distributions d");
        self.push_where(&mut q);
        self.push_order_and_page(&mut q);
        q.push(") ");
        q.push(crate::shape::LIST_SELECT);
        self.push_order(&mut q);
        q
    }

    fn push_order(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" ORDER BY ");
        for (col, desc) in &self.ordering {
            q.push(col).push(order_suffix(col, *desc));
        }
        let first_desc = self.ordering.first().map(|o| o.1).unwrap_or(true);
        q.push(if first_desc { "d.id DESC" } else { "d.id ASC" });
    }

    /// Appends ` ORDER BY ... LIMIT ... OFFSET ...`.
    pub fn push_order_and_page(&self, q: &mut QueryBuilder<'_, Postgres>) {
        q.push(" ORDER BY ");
        for (col, desc) in &self.ordering {
            q.push(col).push(order_suffix(col, *desc));
        }
        let first_desc = self.ordering.first().map(|o| o.1).unwrap_or(true);
        q.push(if first_desc { "d.id DESC" } else { "d.id ASC" });
        q.push(" LIMIT ").push_bind(self.page_size);
        q.push(" OFFSET ")
            .push_bind((self.page - 1).saturating_mul(self.page_size));
    }
}

/// Appends `(column ILIKE w1 AND column ILIKE w2 ...)`: every word of `search`
/// somewhere in `column`, in any order (DICOM writes Citizen^Jan for "Jan
/// Citizen"). Each word is its own trigram-indexed ILIKE.
pub fn push_name_match(q: &mut QueryBuilder<'_, Postgres>, column: &str, search: &str) {
    let mut words: Vec<String> = search
        .split(|c: char| c.is_whitespace() || c == '^' || c == ',')
        .filter(|w| !w.is_empty())
        .take(6)
        .map(|w| format!("%{}%", escape_like(w)))
        .collect();
    if words.is_empty() {
        words.push(format!("%{}%", escape_like(search)));
    }
    q.push("(");
    for (i, w) in words.into_iter().enumerate() {
        if i > 0 {
            q.push(" AND ");
        }
        q.push(format!("{column} ILIKE ")).push_bind(w);
    }
    q.push(")");
}

/// `%XX`-encodes a query value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The link to another page: the same parameters, that page, and `as_of`.
pub fn page_link(base: &str, params: &[(String, String)], page: i64, as_of: Option<i64>) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(k, _)| k != "page" && k != "as_of")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if let Some(a) = as_of {
        parts.push(format!("as_of={a}"));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &[(&str, &str)]) -> Result<ListQuery, Problem> {
        let v: Vec<(String, String)> = q
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        ListQuery::parse(&v)
    }

    #[test]
    fn parses_lists_and_refuses_bad_values() {
        let q = p(&[
            ("status", "requested,READY"),
            ("status", "PREPARING"),
            ("page_size", "500"),
        ])
        .unwrap();
        assert_eq!(
            q.statuses,
            vec![Status::Requested, Status::Ready, Status::Preparing]
        );
        assert_eq!((q.page, q.page_size), (1, 100));
        assert_eq!(
            p(&[("status", "LOST")]).unwrap_err().field.as_deref(),
            Some("status")
        );
        assert_eq!(
            p(&[("from_date", "2026-13-01")])
                .unwrap_err()
                .field
                .as_deref(),
            Some("from_date")
        );
        assert_eq!(
            p(&[("from_date", "2026-12-02"), ("to_date", "2026-12-01")])
                .unwrap_err()
                .field
                .as_deref(),
            Some("to_date")
        );
        assert_eq!(
            p(&[("ordering", "patient_name")])
                .unwrap_err()
                .field
                .as_deref(),
            Some("ordering")
        );
        assert_eq!(
            p(&[("page", "0")]).unwrap_err().field.as_deref(),
            Some("page")
        );
        assert_eq!(
            p(&[("study", "1.2.3")]).unwrap().study,
            Some(StudyRef::Uid("1.2.3".into()))
        );
        assert_eq!(p(&[("study", "7")]).unwrap().study, Some(StudyRef::Id(7)));
    }

    #[test]
    fn links_keep_parameters() {
        let params = vec![
            ("status".to_string(), "READY,COLLECTED".to_string()),
            ("page".into(), "1".into()),
        ];
        assert_eq!(
            page_link("/api/media-distributions/", &params, 2, Some(9)),
            "/api/media-distributions/?status=READY%2CCOLLECTED&as_of=9&page=2"
        );
        assert_eq!(page_link("/x/", &[], 1, None), "/x/");
    }
}
