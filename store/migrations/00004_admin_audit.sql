-- Admin audit: changes made with admin tokens that belong to no tenant (API tokens created
-- and revoked, tenants created). Tenant-scoped changes are in site_history; a token of a
-- tenant is recorded in both. Rows are only ever inserted.

-- +goose Up
CREATE TABLE admin_audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    -- The tenant the change concerns, if any (no foreign key: the trail outlives the tenant).
    tenant_id  text NOT NULL DEFAULT '',
    message    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX admin_audit_at ON admin_audit (at DESC, id DESC);

-- +goose Down
DROP TABLE admin_audit;
