-- The tallies of 0005, kept per statement instead of per row: a statement
-- that writes many rows (a bulk load, a backfill) changes each tally once,
-- where the row trigger rewrote the same tally row once per row (seeding a
-- million rows took over a quarter of an hour). One row's change costs the
-- same as before.
DROP TRIGGER distribution_counts_follow ON media_distributions;
DROP FUNCTION distribution_counts_follow();

CREATE FUNCTION distribution_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Each event has only some transition tables: read those it has.
    moved TEXT := CASE TG_OP
        WHEN 'INSERT' THEN 'SELECT status, media_type, urgency, 1 AS d FROM new_rows WHERE deleted_at IS NULL'
        WHEN 'DELETE' THEN 'SELECT status, media_type, urgency, -1 AS d FROM old_rows WHERE deleted_at IS NULL'
        ELSE 'SELECT status, media_type, urgency, 1 AS d FROM new_rows WHERE deleted_at IS NULL
              UNION ALL SELECT status, media_type, urgency, -1 FROM old_rows WHERE deleted_at IS NULL'
    END;
    delta RECORD;
BEGIN
    -- In key order, whichever way rows moved: two statements moving rows in
    -- opposite directions cannot deadlock on the tallies.
    FOR delta IN EXECUTE
        'SELECT status, media_type, urgency, sum(d)::bigint AS d FROM (' || moved || ') m
         GROUP BY status, media_type, urgency HAVING sum(d) <> 0
         ORDER BY status, media_type, urgency'
    LOOP
        UPDATE distribution_counts SET n = n + delta.d
        WHERE (status, media_type, urgency) = (delta.status, delta.media_type, delta.urgency);
    END LOOP;
    RETURN NULL;
END $$;

-- One trigger per event: PostgreSQL allows transition tables only on a
-- trigger of one event, and (for UPDATE) without a column list.
CREATE TRIGGER distribution_counts_inserted AFTER INSERT ON media_distributions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION distribution_counts_apply();
CREATE TRIGGER distribution_counts_updated AFTER UPDATE ON media_distributions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION distribution_counts_apply();
CREATE TRIGGER distribution_counts_deleted AFTER DELETE ON media_distributions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION distribution_counts_apply();
