-- The data key an idempotent create's request hash is keyed with: `haven keys retire` keeps a
-- key while a remembered create still needs it, so that a retry after a rotation is still
-- known for what it is (on an instance started after the retirement too).
ALTER TABLE idempotency_key ADD COLUMN key_id text;
