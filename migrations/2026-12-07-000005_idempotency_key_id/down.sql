ALTER TABLE idempotency_key DROP COLUMN key_id;
