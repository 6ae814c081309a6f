-- Scorecard metrics powered by gauges (job 3) and their weekly check-ins. Times are UTC
-- (timestamptz); values are numeric, never float.

-- +goose Up
-- A metric is read from one gauge on a schedule in its owner's time zone. The ID names its
-- snapshot loop in Temporal (metric-snapshot/<id>), so it is unique across tenants.
CREATE TABLE metrics (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,80}$'),
    tenant_id        text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    name             text NOT NULL,
    owner_email      text NOT NULL,
    time_zone        text NOT NULL,
    gauge_id         text NOT NULL,
    schedule_cadence text NOT NULL DEFAULT 'daily' CHECK (schedule_cadence IN ('daily', 'weekly')),
    schedule_weekday text CHECK (schedule_weekday IN ('monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday')),
    schedule_time    text NOT NULL DEFAULT '06:00' CHECK (schedule_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
    workflow_id      text NOT NULL,
    -- The last accepted "sync now": a request inside the 5-minute window after it is refused.
    last_sync_at     timestamptz,
    last_sync_by     text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL DEFAULT '',
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text NOT NULL DEFAULT '',
    CHECK ((schedule_cadence = 'weekly') = (schedule_weekday IS NOT NULL))
);
CREATE INDEX metrics_tenant ON metrics (tenant_id, created_at, id);

-- One check-in per metric and ISO week (Monday to Sunday). value is what the scorecard
-- shows: the manual value while source = 'manual', else the week's latest gauge snapshot.
-- gauge_value keeps the latest snapshot even under an override, so clearing the override
-- brings it back. A frozen week is changed only by an explicit override.
CREATE TABLE metric_checkins (
    metric_id     text NOT NULL REFERENCES metrics ON DELETE CASCADE,
    tenant_id     text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    week          text NOT NULL CHECK (week ~ '^[0-9]{4}-W[0-9]{2}$'),
    week_start    date NOT NULL,
    value         numeric NOT NULL,
    source        text NOT NULL CHECK (source IN ('gauge', 'manual')),
    captured_at   timestamptz NOT NULL,
    gauge_value   numeric,
    gauge_at      timestamptz,
    snapshots     int NOT NULL DEFAULT 0,
    overridden_by text,
    overridden_at timestamptz,
    frozen        boolean NOT NULL DEFAULT false,
    frozen_at     timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (metric_id, week),
    CHECK ((source = 'manual') = (overridden_by IS NOT NULL)),
    CHECK (source = 'manual' OR gauge_value IS NOT NULL),
    CHECK (frozen = (frozen_at IS NOT NULL))
);

-- +goose Down
DROP TABLE metric_checkins;
DROP TABLE metrics;
