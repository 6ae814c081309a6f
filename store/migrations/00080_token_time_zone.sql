-- A token can carry its owner's IANA time zone; a metric created with it and without a
-- zone of its own takes it (then the tenant's). '' means none.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN time_zone text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN time_zone;
