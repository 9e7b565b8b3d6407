-- The console's refusals of coverage near a sealed site tell something of where it is: they
-- are audited beside reveals (src/db/audit.rs).
ALTER TABLE audit_event DROP CONSTRAINT audit_event_action_check;
ALTER TABLE audit_event ADD CONSTRAINT audit_event_action_check
    CHECK (action IN ('reveal_location', 'sealed_site_check_refused'));
