-- Haven's directory: organizations, their services, where those services are and whom they
-- serve, aligned with Open Referral HSDS 3.0 (organization, service, location, phone,
-- schedule, service_area) plus the survivor-specific facets HSDS lacks.

CREATE TABLE organization (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 4000),
    website     text CHECK (length(website) <= 500),
    email       text CHECK (length(email) <= 254),
    demo        boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN organization.demo IS 'Fictional record loaded by `haven seed demo`; every response that shows it says so.';

CREATE TABLE service (
    id                              uuid PRIMARY KEY,
    organization_id                 uuid NOT NULL REFERENCES organization (id),
    name                            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description                     text CHECK (length(description) <= 4000),
    min_age                         smallint CHECK (min_age BETWEEN 0 AND 130),
    max_age                         smallint CHECK (max_age BETWEEN 0 AND 130),
    genders                         text[] NOT NULL DEFAULT '{}'
        CHECK (genders <@ ARRAY['female', 'male', 'nonbinary']::text[]),
    accepts_unaccompanied_minors    boolean NOT NULL DEFAULT false,
    trafficking_specialized         boolean NOT NULL DEFAULT false,
    dv_specialized                  boolean NOT NULL DEFAULT false,
    lgbtq_affirming                 boolean NOT NULL DEFAULT false,
    no_id_required                  boolean NOT NULL DEFAULT false,
    no_immigration_status_required  boolean NOT NULL DEFAULT false,
    no_law_enforcement_required     boolean NOT NULL DEFAULT false,
    accepts_children                boolean NOT NULL DEFAULT false,
    accepts_pets                    boolean NOT NULL DEFAULT false,
    wheelchair_accessible           boolean NOT NULL DEFAULT false,
    languages                       text[] NOT NULL DEFAULT '{}',
    capacity_available              integer CHECK (capacity_available >= 0),
    capacity_total                  integer CHECK (capacity_total >= 0),
    capacity_reported_at            timestamptz,
    verified_at                     timestamptz,
    demo                            boolean NOT NULL DEFAULT false,
    created_at                      timestamptz NOT NULL DEFAULT now(),
    updated_at                      timestamptz NOT NULL DEFAULT now(),
    CHECK (min_age IS NULL OR max_age IS NULL OR min_age <= max_age),
    CHECK ((capacity_available IS NULL) = (capacity_total IS NULL)
           AND (capacity_available IS NULL) = (capacity_reported_at IS NULL)),
    CHECK (capacity_available IS NULL OR capacity_available <= capacity_total)
);
CREATE INDEX service_organization_id_idx ON service (organization_id);
COMMENT ON COLUMN service.genders IS 'Genders served; empty means every gender.';
COMMENT ON COLUMN service.languages IS 'ISO 639-1 codes of the languages the service works in.';
COMMENT ON COLUMN service.verified_at IS 'When a maintainer last confirmed the record; updated_at is not verification.';

CREATE TABLE service_need (
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    need       text NOT NULL CHECK (need IN (
        'shelter', 'transitional_housing', 'hotline', 'legal_aid', 'immigration_legal',
        'counseling', 'medical', 'case_management', 'basic_needs', 'youth_services',
        'substance_use', 'employment_education')),
    PRIMARY KEY (service_id, need)
);
COMMENT ON COLUMN service_need.need IS 'A code of the needs taxonomy (src/domain/need.rs holds the labels).';

CREATE TABLE phone (
    id             uuid PRIMARY KEY,
    service_id     uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    position       smallint NOT NULL,
    number         text NOT NULL CHECK (length(number) BETWEEN 3 AND 32),
    kind           text NOT NULL CHECK (kind IN ('voice', 'text', 'tty')),
    label          text CHECK (length(label) <= 100),
    available_24_7 boolean NOT NULL DEFAULT false,
    languages      text[] NOT NULL DEFAULT '{}',
    UNIQUE (service_id, position)
);

CREATE TABLE schedule (
    id         uuid PRIMARY KEY,
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    position   smallint NOT NULL,
    weekdays   smallint[] NOT NULL CHECK (weekdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]
                                          AND cardinality(weekdays) > 0),
    opens_at   time NOT NULL,
    closes_at  time NOT NULL,
    timezone   text NOT NULL,
    UNIQUE (service_id, position)
);
COMMENT ON COLUMN schedule.weekdays IS 'ISO weekdays, 1 = Monday .. 7 = Sunday, in the schedule''s own time zone.';
COMMENT ON COLUMN schedule.closes_at IS 'At or before opens_at means the opening runs past midnight; 00:00-00:00 is all day.';
COMMENT ON COLUMN schedule.timezone IS 'IANA time zone, so opening hours stay right across daylight-saving changes.';

CREATE TABLE location (
    id          uuid PRIMARY KEY,
    service_id  uuid NOT NULL UNIQUE REFERENCES service (id) ON DELETE CASCADE,
    confidential boolean NOT NULL,
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    street      text,
    postal_code text,
    city        text,
    region      text,
    country     text,
    sealed      bytea,
    key_id      text,
    CHECK (confidential = (sealed IS NOT NULL AND key_id IS NOT NULL)),
    CHECK (confidential = (lat IS NULL AND lon IS NULL)),
    CHECK (NOT confidential OR (street IS NULL AND postal_code IS NULL))
);
COMMENT ON COLUMN location.sealed IS 'Confidential locations only: street, postal code and coordinates, AEAD-encrypted by the application. Postgres never sees them in clear.';
COMMENT ON COLUMN location.key_id IS 'Which data key sealed the row, for key rotation.';
COMMENT ON COLUMN location.city IS 'Public for every location: a confidential service shows its city as its front door.';

CREATE TABLE coverage (
    id          uuid PRIMARY KEY,
    service_id  uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    position    smallint NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('radius', 'area', 'region', 'national')),
    spec        jsonb NOT NULL,
    min_lon     double precision NOT NULL,
    min_lat     double precision NOT NULL,
    max_lon     double precision NOT NULL,
    max_lat     double precision NOT NULL,
    UNIQUE (service_id, position)
);
COMMENT ON TABLE coverage IS 'Whom a service serves (HSDS service_area), which is not where it is.';
COMMENT ON COLUMN coverage.spec IS 'The validated entry as the API takes it: radius centre and km, GeoJSON area, region code or country.';
COMMENT ON COLUMN coverage.min_lon IS 'Bounding box of the covered area in degrees; a box that crosses the antimeridian has min_lon > max_lon.';

CREATE TABLE api_token (
    id              uuid PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('admin', 'hotline', 'caseworker', 'provider')),
    organization_id uuid REFERENCES organization (id) ON DELETE CASCADE,
    label           text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz,
    CHECK (role <> 'provider' OR organization_id IS NOT NULL)
);
CREATE INDEX api_token_organization_id_idx ON api_token (organization_id);
COMMENT ON COLUMN api_token.token_hash IS 'SHA-256 of the token; the token itself is shown once and never stored.';

CREATE TABLE change_log (
    id         bigserial PRIMARY KEY,
    entity     text NOT NULL CHECK (entity IN ('organization', 'service')),
    entity_id  uuid NOT NULL,
    action     text NOT NULL CHECK (action IN ('upsert', 'delete')),
    changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE change_log IS 'Appended to in the same transaction as every directory write; matching indexes follow it.';

-- One notification per statement (Postgres folds equal ones in a transaction): listeners read
-- what changed from change_log itself, so a bulk import does not queue a million messages.
CREATE FUNCTION change_log_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('haven_change_log', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER change_log_notify AFTER INSERT ON change_log
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_notify();
