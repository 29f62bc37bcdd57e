-- Kajabi Public API: the snapshots pulled, and the outbox of requests pushed back.

-- One row per snapshot file the API pull wrote (recorded before the file is renamed into
-- place). A week whose file is recorded here with the same SHA-256 is a pulled snapshot, not a
-- file dropped by hand, so an identical quiet week is not mistaken for a copied file.
CREATE TABLE IF NOT EXISTS kajabi_sync.api_pulls (
    id              bigserial PRIMARY KEY,
    partition_key   text NOT NULL,
    file_name       text NOT NULL,
    file_sha256     text NOT NULL,
    site_id         text NOT NULL,
    contacts        integer NOT NULL,
    pages           integer NOT NULL,
    dagster_run_id  text,
    pulled_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_api_pulls_file ON kajabi_sync.api_pulls (file_name, file_sha256);

-- One row per push run: what it planned, the guard overrides it ran with (and why), and what
-- came of it.
CREATE TABLE IF NOT EXISTS kajabi_sync.push_runs (
    id              bigserial PRIMARY KEY,
    partition_key   text NOT NULL,
    dagster_run_id  text,
    file_sha256     text,
    planned         integer NOT NULL DEFAULT 0,
    overrides       jsonb NOT NULL DEFAULT '{}'::jsonb,
    counts          jsonb NOT NULL DEFAULT '{}'::jsonb,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);

-- The outbox: every request the push planned, and its outcome. A row is 'sending' from just
-- before its request until its answer is recorded, so a push killed in between knows which
-- contact to look at in Kajabi before sending anything again.
CREATE TABLE IF NOT EXISTS kajabi_sync.push_outbox (
    id              bigserial PRIMARY KEY,
    partition_key   text NOT NULL,
    push_run_id     bigint REFERENCES kajabi_sync.push_runs (id),
    contact_id      uuid NOT NULL,
    kajabi_id       text,                       -- null for a contact to create
    email           text NOT NULL,
    action          text NOT NULL CHECK (action IN ('update', 'create')),
    attributes      jsonb NOT NULL,             -- exactly what is sent
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'applied', 'exists', 'rejected',
                                      'cancelled')),
    http_status     integer,
    error           text,
    attempts        integer NOT NULL DEFAULT 0,
    planned_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    done_at         timestamptz
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_push_outbox_open
    ON kajabi_sync.push_outbox (partition_key, contact_id, action)
    WHERE status IN ('pending', 'sending');
CREATE INDEX IF NOT EXISTS idx_push_outbox_week ON kajabi_sync.push_outbox (partition_key, status);
