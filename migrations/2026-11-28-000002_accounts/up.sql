-- People who sign in (SAFETY.md rules 10-11), their sessions, and the append-only audit of
-- every reveal of a confidential address (rule 4). No self-registration: `haven user create`.

CREATE TABLE app_user (
    id              uuid PRIMARY KEY,
    email           text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('admin', 'hotline', 'caseworker', 'provider')),
    organization_id uuid REFERENCES organization (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    disabled_at     timestamptz,
    UNIQUE (email),
    CHECK ((role = 'provider') = (organization_id IS NOT NULL))
);
CREATE INDEX app_user_organization_id_idx ON app_user (organization_id);
COMMENT ON COLUMN app_user.email IS 'Lower-cased sign-in name; never logged.';
COMMENT ON COLUMN app_user.password_hash IS 'Argon2id PHC string (19 MiB, t=2, p=1 or stronger).';
COMMENT ON COLUMN app_user.disabled_at IS 'A disabled user cannot sign in, and their sessions stop working at once.';

CREATE TABLE user_session (
    id           uuid PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX user_session_user_id_idx ON user_session (user_id);
COMMENT ON COLUMN user_session.token_hash IS 'SHA-256 of the session token; the token itself is only ever in the client.';
COMMENT ON COLUMN user_session.last_seen_at IS 'Idle expiry runs from here; absolute expiry from created_at (src/auth.rs holds both).';

CREATE TABLE audit_event (
    id                    bigserial PRIMARY KEY,
    at                    timestamptz NOT NULL DEFAULT now(),
    action                text NOT NULL CHECK (action IN ('reveal_location')),
    actor_user_id         uuid,
    actor_token_id        uuid,
    actor_role            text NOT NULL,
    actor_organization_id uuid,
    service_id            uuid NOT NULL,
    reason                text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    CHECK ((actor_user_id IS NULL) <> (actor_token_id IS NULL))
);
CREATE INDEX audit_event_service_id_idx ON audit_event (service_id);
COMMENT ON TABLE audit_event IS 'Append-only: who revealed which confidential address, when and why. Rows are never updated or deleted.';
COMMENT ON COLUMN audit_event.service_id IS 'Ids here are not foreign keys: the record must outlive the service, user or token it names.';

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only';
END;
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
