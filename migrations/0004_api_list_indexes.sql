-- The API's list and search: the page walks (request_date, id) and stops;
-- each way a search matches is an indexed lookup.
CREATE INDEX media_distributions_live_request ON media_distributions (request_date, id) WHERE deleted_at IS NULL;
CREATE INDEX media_distributions_comments_trgm ON media_distributions USING gin (comments gin_trgm_ops);
CREATE INDEX patients_mrn_trgm ON patients USING gin (mrn gin_trgm_ops);
CREATE INDEX media_distributions_document ON media_distributions
    ((upper(CASE WHEN collected_by_doc_type = 'PASSPORT' THEN split_part(collected_by_ic, ':', 2) ELSE collected_by_ic END)))
    WHERE collected_by_ic IS NOT NULL;
