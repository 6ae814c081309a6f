-- A site-history row can carry a key that makes it once-only per tenant: an activity that is
-- retried after its transaction committed (the worker died before Temporal heard back)
-- writes its row again with the same key, and the second is not kept.

-- +goose Up
ALTER TABLE site_history ADD COLUMN once_key text;
CREATE UNIQUE INDEX site_history_once ON site_history (tenant_id, once_key) WHERE once_key IS NOT NULL;

-- +goose Down
DROP INDEX site_history_once;
ALTER TABLE site_history DROP COLUMN once_key;
