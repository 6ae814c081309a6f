-- Money safety (issue 9 review): an older period is never written over a newer one on the
-- same PSA target, and a past period's licence refresh supersedes no newer cycle.

-- +goose Up
-- What an item writes in the PSA, as a key: a Managed ID's Backup Stats record, or an
-- addition (ConnectWise) / contract service (Autotask) under its agreement or contract. The
-- company is left out: a mapping may name a contract service with or without it.
-- +goose StatementBegin
CREATE FUNCTION meterbridge_target_key(target jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN coalesce(btrim(target->>'managed_id'), '') <> '' THEN 'backup-stats/' || lower(btrim(target->>'managed_id'))
        ELSE 'target/' || coalesce(target->>'agreement_id', '') || '/' || coalesce(target->>'addition_id', '')
    END
$$;
-- +goose StatementEnd

-- The first day of a period: the 1st of a month ("2026-07"), or the day ("2026-07-15").
-- +goose StatementBegin
CREATE FUNCTION meterbridge_period_start(period text) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT make_date(substr(period, 1, 4)::int, substr(period, 6, 2)::int,
        CASE WHEN length(period) >= 10 THEN substr(period, 9, 2)::int ELSE 1 END)
$$;
-- +goose StatementEnd

-- The periods published to each target: what PushItem looks at under the target's lock.
CREATE INDEX cycle_items_published_target ON cycle_items (tenant_id, meterbridge_target_key(target))
    WHERE state IN ('applied', 'unchanged');

-- The units a later period held on the first day after an older period's change, read
-- before the change was written, so a retried push keeps the same number (the first attempt
-- may have written part of the change already). NULL: nothing was billed that day. No
-- foreign key to the item: the push writes it while it holds the item's row locked.
CREATE TABLE push_kept_units (
    tenant_id text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    item_id  bigint NOT NULL,
    until    date NOT NULL,
    units    numeric,
    read_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (item_id, until)
);

-- +goose Down
DROP TABLE push_kept_units;
DROP INDEX cycle_items_published_target;
DROP FUNCTION meterbridge_period_start(text);
DROP FUNCTION meterbridge_target_key(jsonb);
