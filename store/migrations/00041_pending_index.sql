-- The pending grid pages through a tenant's pending (and unchanged) items in cycle and seq
-- order; this index serves that order without sorting every waiting row for each page.

-- +goose Up
CREATE INDEX cycle_items_tenant_waiting ON cycle_items (tenant_id, cycle_id, seq) WHERE state IN ('pending', 'unchanged');

-- +goose Down
DROP INDEX cycle_items_tenant_waiting;
