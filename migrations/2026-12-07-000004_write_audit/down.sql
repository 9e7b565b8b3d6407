DROP INDEX audit_event_action_idx;
-- Records of writes cannot be deleted (the table is append-only): the old rule holds for new
-- rows only.
ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check
    CHECK (action IN ('reveal_location', 'sealed_site_check_refused')) NOT VALID;
COMMENT ON TABLE audit_event IS 'Append-only: who revealed which confidential address, when and why. Rows are never updated or deleted.';
