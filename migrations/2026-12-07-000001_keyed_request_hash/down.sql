DELETE FROM idempotency_key;
COMMENT ON COLUMN idempotency_key.request_hash IS 'SHA-256 of the method, path and body: the same key with another request is refused (422).';
