-- Issue 11: which backup clients a tenant publishes, and the Managed IDs typed in
-- meterbridge. A client without a row is published with the Managed ID the backup service
-- reports.

-- +goose Up
CREATE TABLE backup_clients (
    tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    client_id    text NOT NULL,
    -- The tenant chose not to publish this client.
    excluded     boolean NOT NULL DEFAULT false,
    -- A Managed ID typed (or corrected) in meterbridge, used instead of the reported one;
    -- NULL uses what the backup service reports.
    managed_id   text,
    -- The ConnectWise company the typed Managed ID named when it was checked.
    company_id   bigint,
    company_name text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, client_id),
    CHECK (managed_id IS NULL OR managed_id <> '')
);

-- +goose Down
DROP TABLE backup_clients;
