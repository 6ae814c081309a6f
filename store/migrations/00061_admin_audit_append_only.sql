-- The admin audit trail is append-only: no UPDATE, DELETE or TRUNCATE, whoever asks, short
-- of a table owner dropping this trigger (which is itself a schema change, not something
-- the application does).

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION admin_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'admin_audit is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER admin_audit_no_update_or_delete BEFORE UPDATE OR DELETE ON admin_audit
    FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only();
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
    FOR EACH STATEMENT EXECUTE FUNCTION admin_audit_append_only();

-- +goose Down
DROP TRIGGER admin_audit_no_truncate ON admin_audit;
DROP TRIGGER admin_audit_no_update_or_delete ON admin_audit;
DROP FUNCTION admin_audit_append_only();
