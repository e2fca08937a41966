-- Admin deletion keeps the row (and its audit trail) but takes it out of lists.
ALTER TABLE media_distributions
    ADD COLUMN deleted_at      TIMESTAMPTZ,
    ADD COLUMN deleted_by_id   BIGINT REFERENCES staff (id),
    ADD COLUMN deletion_reason TEXT,
    ADD CONSTRAINT deletion_fields_together CHECK (
        (deleted_at IS NULL) = (deleted_by_id IS NULL) AND (deleted_at IS NULL) = (deletion_reason IS NULL)
    );
CREATE INDEX media_distributions_live ON media_distributions (status, request_date) WHERE deleted_at IS NULL;
