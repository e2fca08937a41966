-- Exact list counts without counting a million rows. The list's `count` for
-- filters on status, media type and urgency is a sum over these 75 rows, kept
-- by a trigger in the same transaction as the change, so it is never stale.
CREATE TABLE distribution_counts (
    status      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    urgency     TEXT NOT NULL,
    n           BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (status, media_type, urgency)
);

-- Every combination exists up front, so the trigger only ever UPDATEs.
INSERT INTO distribution_counts (status, media_type, urgency, n)
SELECT s, m, u, 0
FROM unnest(ARRAY['REQUESTED', 'PREPARING', 'READY', 'COLLECTED', 'CANCELLED']) s,
     unnest(ARRAY['CD', 'DVD', 'XRAY_FILM', 'USB', 'DIGITAL_COPY']) m,
     unnest(ARRAY['NORMAL', 'URGENT', 'STAT']) u;

UPDATE distribution_counts c SET n = live.n
FROM (SELECT status, media_type, urgency, count(*) AS n
      FROM media_distributions WHERE deleted_at IS NULL
      GROUP BY status, media_type, urgency) live
WHERE (c.status, c.media_type, c.urgency) = (live.status, live.media_type, live.urgency);

CREATE FUNCTION distribution_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_counted BOOLEAN := TG_OP <> 'INSERT' AND OLD.deleted_at IS NULL;
    is_counted  BOOLEAN := TG_OP <> 'DELETE' AND NEW.deleted_at IS NULL;
BEGIN
    IF was_counted AND is_counted
       AND (OLD.status, OLD.media_type, OLD.urgency) = (NEW.status, NEW.media_type, NEW.urgency) THEN
        RETURN NULL;
    END IF;
    -- Two rows change in key order, whichever way the row moved: two
    -- transactions moving rows in opposite directions cannot deadlock.
    IF was_counted AND is_counted
       AND (NEW.status, NEW.media_type, NEW.urgency) < (OLD.status, OLD.media_type, OLD.urgency) THEN
        UPDATE distribution_counts SET n = n + 1
        WHERE (status, media_type, urgency) = (NEW.status, NEW.media_type, NEW.urgency);
        is_counted := FALSE;
    END IF;
    IF was_counted THEN
        UPDATE distribution_counts SET n = n - 1
        WHERE (status, media_type, urgency) = (OLD.status, OLD.media_type, OLD.urgency);
    END IF;
    IF is_counted THEN
        UPDATE distribution_counts SET n = n + 1
        WHERE (status, media_type, urgency) = (NEW.status, NEW.media_type, NEW.urgency);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER distribution_counts_follow
    AFTER INSERT OR DELETE OR UPDATE OF status, media_type, urgency, deleted_at ON media_distributions
    FOR EACH ROW EXECUTE FUNCTION distribution_counts_follow();

-- Nobody empties the table behind the trigger's back.
CREATE FUNCTION distribution_counts_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'media_distributions is never truncated (distribution_counts would be wrong)';
END $$;
CREATE TRIGGER media_distributions_no_truncate
    BEFORE TRUNCATE ON media_distributions
    FOR EACH STATEMENT EXECUTE FUNCTION distribution_counts_no_truncate();

-- Date-range filters count and page from the index alone: the filter columns
-- ride along in the (request_date, id) walk.
DROP INDEX media_distributions_live_request;
CREATE INDEX media_distributions_live_request ON media_distributions (request_date, id)
    INCLUDE (status, media_type, urgency) WHERE deleted_at IS NULL;
