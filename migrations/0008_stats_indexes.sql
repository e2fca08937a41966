-- Stats at a million rows: collections per day and in the last 30 days are
-- an index range, not a scan of every row.
CREATE INDEX media_distributions_collected_at ON media_distributions (collection_datetime)
    WHERE deleted_at IS NULL AND collection_datetime IS NOT NULL;
