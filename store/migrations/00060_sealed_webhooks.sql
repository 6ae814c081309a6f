-- Chat webhook URLs carry their secret in the path (Slack, Teams), so they are sealed like
-- credentials (AES-GCM, bound to the tenant) instead of kept in the settings JSON. Rows
-- written before keep the plain URL in settings until they are next saved or until
-- `meterbridge secrets rotate` (or `meterbridge migrate` with the keys set) seals it.

-- +goose Up
ALTER TABLE tenants ADD COLUMN webhook_sealed bytea;

-- +goose Down
ALTER TABLE tenants DROP COLUMN webhook_sealed;
