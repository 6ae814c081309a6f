-- meterbridge's own state. Times are UTC (timestamptz); quantities are numeric, never float.

-- +goose Up
CREATE TABLE tenants (
    id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,39}$'),
    name        text NOT NULL,
    time_zone   text NOT NULL DEFAULT 'UTC',
    psa_kind    text CHECK (psa_kind IN ('connectwise', 'autotask')),
    -- Schedules, approval rule, notification settings: one validated Go struct (store.Settings).
    settings    jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Credentials for the tenant's PSA and vendor sources. Secret fields are sealed with AES-GCM
-- (key from the environment); config holds only what may be shown (URLs, public IDs).
CREATE TABLE connections (
    tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('psa', 'backup', 'licenses', 'gauges')),
    provider    text NOT NULL,
    config      jsonb NOT NULL DEFAULT '{}',
    secret      bytea NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, role)
);

-- Accounts a vendor reports (backup clients, licence accounts), as last seen.
CREATE TABLE vendor_accounts (
    tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    source      text NOT NULL CHECK (source IN ('backup', 'licenses')),
    account_id  text NOT NULL,
    name        text NOT NULL DEFAULT '',
    managed_id  text NOT NULL DEFAULT '',
    seen_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source, account_id)
);

-- What a vendor reported for an account and item (licence type, or "storage_gb") in a period.
CREATE TABLE usage_readings (
    tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    source      text NOT NULL,
    account_id  text NOT NULL,
    item        text NOT NULL,
    period      text NOT NULL,
    quantity    numeric NOT NULL,
    read_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, source, account_id, item, period)
);

-- (vendor account, item) → where the quantity is billed in the PSA.
CREATE TABLE mappings (
    tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    id           text NOT NULL,
    source       text NOT NULL CHECK (source IN ('backup', 'licenses')),
    account_id   text NOT NULL,
    item         text NOT NULL,
    company_id   bigint NOT NULL,
    agreement_id bigint NOT NULL,
    addition_id  bigint NOT NULL,
    -- Names read from the PSA when the mapping was checked (company, agreement, product).
    target_info  jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'error')),
    last_error   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    updated_by   text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, source, account_id, item)
);

-- One billing cycle: a usage publish or a licence sync of one period. The ID is the workflow
-- run ID, so every retried activity of a run addresses the same row.
CREATE TABLE cycles (
    id           uuid PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('usage_publish', 'licence_sync')),
    period       text NOT NULL,
    mode         text NOT NULL,
    trigger      text NOT NULL CHECK (trigger IN ('manual', 'automatic', 'backfill')),
    started_by   text NOT NULL DEFAULT '',
    workflow_id  text NOT NULL,
    status       text NOT NULL,
    phase        text NOT NULL DEFAULT '',
    error        text NOT NULL DEFAULT '',
    counts       jsonb NOT NULL DEFAULT '{}',
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX cycles_tenant_started ON cycles (tenant_id, started_at DESC);

-- Exactly once per period: an automatic cycle claims (tenant, kind, period) before it changes
-- anything; a second automatic cycle for the same key finds the claim and stops.
CREATE TABLE period_claims (
    tenant_id   text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    kind        text NOT NULL,
    period      text NOT NULL,
    cycle_id    uuid NOT NULL REFERENCES cycles ON DELETE CASCADE,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind, period)
);

-- One proposed change per client/account item in a cycle, and what became of it.
CREATE TABLE cycle_items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cycle_id     uuid NOT NULL REFERENCES cycles ON DELETE CASCADE,
    tenant_id    text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    seq          int NOT NULL,
    account_id   text NOT NULL,
    account_name text NOT NULL DEFAULT '',
    item         text NOT NULL,
    mapping_id   text NOT NULL DEFAULT '',
    -- PSA target (company/agreement/addition) or {"managed_id": ...} in basic mode.
    target       jsonb NOT NULL DEFAULT '{}',
    target_label text NOT NULL DEFAULT '',
    old_qty      numeric,
    new_qty      numeric,
    delta        numeric,
    state        text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'unchanged', 'applied', 'failed')),
    reason       text NOT NULL DEFAULT '',
    decided_by   text NOT NULL DEFAULT '',
    decided_at   timestamptz,
    applied_qty  numeric,
    applied_at   timestamptz,
    psa_reference text NOT NULL DEFAULT '',
    UNIQUE (cycle_id, account_id, item)
);
CREATE INDEX cycle_items_tenant_state ON cycle_items (tenant_id, state);
CREATE INDEX cycle_items_cycle_state ON cycle_items (cycle_id, state, id);

-- Pending updates are the cycle items that wait for a person.
CREATE VIEW pending_updates AS
    SELECT * FROM cycle_items WHERE state = 'pending';

-- Site history: every action on a tenant, for people and auditors.
CREATE TABLE site_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants ON DELETE CASCADE,
    at         timestamptz NOT NULL DEFAULT now(),
    severity   text NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    actor      text NOT NULL,
    action     text NOT NULL,
    message    text NOT NULL,
    details    jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX site_history_tenant_at ON site_history (tenant_id, at DESC, id DESC);

-- API tokens: only a hash of the secret is kept.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY,
    tenant_id    text REFERENCES tenants ON DELETE CASCADE,
    role         text NOT NULL CHECK (role IN ('admin', 'approver', 'viewer')),
    owner_email  text NOT NULL,
    name         text NOT NULL DEFAULT '',
    secret_hash  bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL DEFAULT '',
    last_used_at timestamptz,
    revoked_at   timestamptz,
    -- An admin token belongs to no tenant; every other token to exactly one.
    CHECK ((role = 'admin') = (tenant_id IS NULL))
);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE site_history;
DROP VIEW pending_updates;
DROP TABLE cycle_items;
DROP TABLE period_claims;
DROP TABLE cycles;
DROP TABLE mappings;
DROP TABLE usage_readings;
DROP TABLE vendor_accounts;
DROP TABLE connections;
DROP TABLE tenants;
