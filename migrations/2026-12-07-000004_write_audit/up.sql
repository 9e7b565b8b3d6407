-- Who wrote which service, and which of its members (by name, never their values), beside
-- the reveals (src/db/audit.rs): a wrong intake number or a closed shelter can be traced to
-- the account or token that wrote it.
ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check
    CHECK (action IN ('reveal_location', 'sealed_site_check_refused', 'service_created',
                      'service_replaced', 'service_updated', 'service_deleted'));
COMMENT ON TABLE audit_event IS 'Append-only: who revealed which confidential address, when and why, and who wrote which service. Rows are never updated or deleted.';
-- Writes make the trail grow with the directory's life: reading one kind of record (the
-- reveals, say) goes by this index, not through every record.
CREATE INDEX audit_event_action_idx ON audit_event (action, id);
