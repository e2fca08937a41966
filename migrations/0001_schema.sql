-- One schema for every mediadist service.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE staff (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{2,40}$'),
    full_name     TEXT NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    role          TEXT NOT NULL CHECK (role IN ('CLERK', 'RADIOGRAPHER', 'RECEPTION', 'ADMIN')),
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    password_hash TEXT,
    pin_hash      TEXT,
    created       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mrn         TEXT NOT NULL,
    issuer      TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL,
    ic          TEXT CHECK (ic ~ '^[0-9]{12}$'),
    passport_country TEXT,
    passport_no TEXT,
    birth_date  DATE,
    sex         TEXT CHECK (sex IN ('M', 'F', 'O')),
    created     TIMESTAMPTZ NOT NULL DEFAULT now(),
    modified    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (mrn, issuer)
);
CREATE INDEX patients_name_trgm ON patients USING gin (name gin_trgm_ops);
CREATE INDEX patients_ic ON patients (ic);

-- The seed's Daftar. Accession numbers repeat across patients in real data.
CREATE TABLE studies (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_uid        TEXT NOT NULL UNIQUE,
    patient_id       BIGINT NOT NULL REFERENCES patients (id),
    accession_number TEXT,
    study_date       DATE,
    description      TEXT,
    modalities       TEXT[] NOT NULL DEFAULT '{}',
    created          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX studies_patient ON studies (patient_id);
CREATE INDEX studies_accession ON studies (accession_number);

-- The seed's Pemeriksaan: one per series.
CREATE TABLE examinations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study_id       BIGINT NOT NULL REFERENCES studies (id),
    series_uid     TEXT NOT NULL UNIQUE,
    modality       TEXT,
    description    TEXT,
    series_number  INTEGER,
    instance_count INTEGER NOT NULL CHECK (instance_count >= 0)
);
CREATE INDEX examinations_study ON examinations (study_id);

CREATE TABLE media_distributions (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id              BIGINT NOT NULL REFERENCES patients (id),
    request_date            TIMESTAMPTZ NOT NULL DEFAULT now(),
    media_type              TEXT NOT NULL CHECK (media_type IN ('CD', 'DVD', 'XRAY_FILM', 'USB', 'DIGITAL_COPY')),
    quantity                INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 50),
    status                  TEXT NOT NULL DEFAULT 'REQUESTED'
                            CHECK (status IN ('REQUESTED', 'PREPARING', 'READY', 'COLLECTED', 'CANCELLED')),
    urgency                 TEXT NOT NULL DEFAULT 'NORMAL' CHECK (urgency IN ('NORMAL', 'URGENT', 'STAT')),
    requester_type          TEXT NOT NULL CHECK (requester_type IN ('PATIENT', 'RELATIVE', 'REFERRAL_HOSPITAL', 'CLINICIAN')),
    requester_name          TEXT,
    requester_organisation  TEXT,
    requester_reference     TEXT,
    requester_contact       TEXT,
    requested_by_id         BIGINT NOT NULL REFERENCES staff (id),
    prepared_by_id          BIGINT REFERENCES staff (id),
    preparation_started_at  TIMESTAMPTZ,
    ready_at                TIMESTAMPTZ,
    storage_location        TEXT,
    collected_by            TEXT,
    collected_by_doc_type   TEXT CHECK (collected_by_doc_type IN ('MYKAD', 'PASSPORT', 'OTHER')),
    collected_by_doc_kind   TEXT,
    collected_by_ic         TEXT,
    relationship_to_patient TEXT CHECK (relationship_to_patient IN
                            ('SELF', 'SPOUSE', 'PARENT', 'CHILD', 'SIBLING', 'GUARDIAN', 'REFERRAL_HOSPITAL_STAFF', 'OTHER')),
    relationship_other      TEXT,
    authority_reference     TEXT,
    slip_presented          BOOLEAN,
    collection_datetime     TIMESTAMPTZ,
    handed_over_by_id       BIGINT REFERENCES staff (id),
    comments                TEXT,
    cancellation_reason     TEXT,
    cancelled_at            TIMESTAMPTZ,
    slip_version            INTEGER NOT NULL DEFAULT 1 CHECK (slip_version >= 1),
    version                 BIGINT NOT NULL DEFAULT 1,
    created                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    modified                TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Collection fields are present exactly when COLLECTED.
    CONSTRAINT collection_fields_iff_collected CHECK (
        (status = 'COLLECTED') = (collected_by IS NOT NULL AND collected_by_ic IS NOT NULL
            AND collected_by_doc_type IS NOT NULL AND relationship_to_patient IS NOT NULL
            AND collection_datetime IS NOT NULL AND handed_over_by_id IS NOT NULL)
        AND (status = 'COLLECTED' OR (collected_by IS NULL AND collected_by_ic IS NULL
            AND collection_datetime IS NULL AND handed_over_by_id IS NULL))
    ),
    CONSTRAINT cancellation_reason_iff_cancelled CHECK ((status = 'CANCELLED') = (cancellation_reason IS NOT NULL)),
    CONSTRAINT ready_has_location CHECK (status NOT IN ('READY', 'COLLECTED') OR storage_location IS NOT NULL)
);
CREATE INDEX media_distributions_status ON media_distributions (status);
CREATE INDEX media_distributions_request_date ON media_distributions (request_date);
CREATE INDEX media_distributions_status_request_date ON media_distributions (status, request_date);
CREATE INDEX media_distributions_patient ON media_distributions (patient_id);
CREATE INDEX media_distributions_collected_by_trgm ON media_distributions USING gin (collected_by gin_trgm_ops);

-- The studies each distribution covers. media_type and active are copied
-- here so one partial unique index can refuse a second active request.
CREATE TABLE distribution_studies (
    distribution_id BIGINT NOT NULL REFERENCES media_distributions (id),
    study_id        BIGINT NOT NULL REFERENCES studies (id),
    media_type      TEXT NOT NULL,
    active          BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (distribution_id, study_id)
);
CREATE UNIQUE INDEX one_active_request_per_study_and_media
    ON distribution_studies (study_id, media_type) WHERE active;
CREATE INDEX distribution_studies_study ON distribution_studies (study_id);

-- Append-only audit trail.
CREATE TABLE distribution_events (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    distribution_id BIGINT NOT NULL REFERENCES media_distributions (id),
    event           TEXT NOT NULL,
    from_status     TEXT,
    to_status       TEXT NOT NULL,
    actor_id        BIGINT REFERENCES staff (id),
    actor           TEXT NOT NULL,
    reason          TEXT,
    details         JSONB NOT NULL DEFAULT '{}',
    command_id      TEXT NOT NULL,
    correlation_id  TEXT,
    at              TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX distribution_events_distribution ON distribution_events (distribution_id, id);

CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'distribution_events is append-only: % refused', TG_OP;
END $$;
CREATE TRIGGER distribution_events_append_only
    BEFORE UPDATE OR DELETE ON distribution_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER distribution_events_no_truncate
    BEFORE TRUNCATE ON distribution_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();

-- Events waiting for the relay. Inserting wakes it through NOTIFY.
CREATE TABLE outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     UUID NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    subject      TEXT,
    payload      JSONB NOT NULL,
    created      TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at TIMESTAMPTZ
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('mediadist_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_inserted
    AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Commands already applied, with the answer they got: a redelivery is a no-op
-- that returns the same answer.
CREATE TABLE inbox (
    message_id   TEXT PRIMARY KEY,
    command_type TEXT NOT NULL,
    reply        JSONB NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
