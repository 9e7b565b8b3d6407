-- The first answer to each create request sent with an Idempotency-Key (SAFETY.md rule 18), so
-- that a retry gets that answer instead of a second copy of what it created. Written in the
-- same transaction as the create itself; kept for a day.

CREATE TABLE idempotency_key (
    owner_id     uuid NOT NULL,
    key_hash     bytea NOT NULL,
    request_hash bytea NOT NULL,
    location     text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, key_hash),
    CHECK ((location IS NULL) = (body IS NULL))
);
CREATE INDEX idempotency_key_created_at_idx ON idempotency_key (created_at);
COMMENT ON COLUMN idempotency_key.owner_id IS 'Whose key: the API token id, or the signed-in user id. Keys of different callers never meet.';
COMMENT ON COLUMN idempotency_key.key_hash IS 'SHA-256 of the Idempotency-Key header; the key itself is not kept.';
COMMENT ON COLUMN idempotency_key.request_hash IS 'SHA-256 of the method, path and body: the same key with another request is refused (422).';
COMMENT ON COLUMN idempotency_key.body IS 'The first answer (a 201, with location), as sent; NULL only inside the transaction that is writing it.';
