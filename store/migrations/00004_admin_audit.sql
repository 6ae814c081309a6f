-- Admin audit: every change made on an admin-only API route (tenants, API tokens, tenant
-- settings, credentials, mappings, clearing a site history). Tenant changes are also in
-- site_history, which can be cleared; this trail is only ever inserted into.

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
