DROP TABLE audit_event;
DROP FUNCTION audit_event_append_only();
DROP TABLE user_session;
DROP TABLE app_user;
