-- Request hashes are now keyed from the data key (HMAC-SHA256). The plain SHA-256 hashes kept
-- so far cover create bodies that may hold a sealed address, so a copy of the database could
-- confirm a guessed one against them: they go. A retry of a create made before this migration
-- is then handled as a new request.
DELETE FROM idempotency_key;
COMMENT ON COLUMN idempotency_key.request_hash IS 'HMAC-SHA256, keyed from the current data key, of the method, path and body (its JSON with members in order): the same key with another request is refused (422). A plain hash would let a copy of the database confirm a guessed sealed address.';
