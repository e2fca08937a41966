-- The HTTP API: bearer tokens, and who read which personal records.

-- staff.password_hash (from 0001, unused until now) holds argon2 PHC strings.
ALTER TABLE staff
    ADD CONSTRAINT staff_password_hash_is_argon2 CHECK (password_hash IS NULL OR password_hash LIKE '$argon2%');

-- Opaque bearer tokens; only their SHA-256 is stored.
CREATE TABLE api_tokens (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    staff_id    BIGINT NOT NULL REFERENCES staff (id),
    kind        TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created     TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX api_tokens_staff ON api_tokens (staff_id);

-- Each read of a distribution's details or a patient's record, and each
-- list that showed identity numbers in full: who, what, when. No values.
CREATE TABLE api_reads (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    staff_id         BIGINT NOT NULL REFERENCES staff (id),
    username         TEXT NOT NULL,
    what             TEXT NOT NULL,
    distribution_ids BIGINT[] NOT NULL DEFAULT '{}',
    patient_id       BIGINT REFERENCES patients (id),
    full_fields      TEXT[] NOT NULL DEFAULT '{}'
);
CREATE INDEX api_reads_at ON api_reads (at);
CREATE INDEX api_reads_patient ON api_reads (patient_id) WHERE patient_id IS NOT NULL;
CREATE TRIGGER api_reads_append_only
    BEFORE UPDATE OR DELETE ON api_reads
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER api_reads_no_truncate
    BEFORE TRUNCATE ON api_reads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
