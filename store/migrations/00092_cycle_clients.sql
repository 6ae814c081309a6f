-- Issue 11: a usage publish may cover one client (publish now of a client added mid-month);
-- clients that are unmapped or excluded are recorded as such, not as failures.

-- +goose Up
-- NULL: every client (the month's publish). A cycle with clients never stands for its
-- period: it claims nothing and is not the period's publisher.
ALTER TABLE cycles ADD COLUMN clients text[];
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed', 'superseded', 'abandoned',
                     'unmapped', 'excluded'));

-- +goose Down
UPDATE cycle_items SET state = 'failed' WHERE state IN ('unmapped', 'excluded');
ALTER TABLE cycle_items DROP CONSTRAINT cycle_items_state_check;
ALTER TABLE cycle_items ADD CONSTRAINT cycle_items_state_check
    CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed', 'superseded', 'abandoned'));
ALTER TABLE cycles DROP COLUMN clients;
