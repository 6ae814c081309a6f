-- Where a metric's time zone came from when it was created: the request, the creator's
-- token, or the tenant. A later change of the zone makes it 'request'.

-- +goose Up
ALTER TABLE metrics ADD COLUMN time_zone_from text NOT NULL DEFAULT 'request'
    CHECK (time_zone_from IN ('request', 'creator', 'tenant'));

-- +goose Down
ALTER TABLE metrics DROP COLUMN time_zone_from;
