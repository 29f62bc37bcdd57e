-- Merges the user decides, what each one moved (so it can be undone exactly), and new Kajabi
-- emails held as likely duplicates until the user decides.

-- One row per merge run (import_runs.kind = 'merge'): who survived and what was merged away.
-- merged_contact_id is NULL when a held Kajabi email (no contact row) was merged into a contact.
CREATE TABLE IF NOT EXISTS kajabi_sync.merges (
    merge_run_id          bigint PRIMARY KEY REFERENCES kajabi_sync.import_runs (id),
    survivor_id           uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    merged_contact_id     uuid REFERENCES contacts (id) ON DELETE SET NULL,
    merged_email          text NOT NULL,          -- lower-cased
    reason                text NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_merges_survivor ON kajabi_sync.merges (survivor_id);
CREATE INDEX IF NOT EXISTS idx_merges_merged ON kajabi_sync.merges (merged_contact_id);

-- Every row a merge moved or added outside contacts' own fields (those are in field_changes):
--   email_moved       contact_emails row re-pointed to the survivor (from_contact_id, was_primary)
--   email_added       contact_emails row created under the survivor
--   memory_added      merged_from row created
--   memory_repointed  merged_from row re-pointed from the merged contact to the survivor
CREATE TABLE IF NOT EXISTS kajabi_sync.merge_moves (
    merge_run_id      bigint NOT NULL REFERENCES kajabi_sync.import_runs (id),
    kind              text NOT NULL
                      CHECK (kind IN ('email_moved', 'email_added', 'memory_added', 'memory_repointed')),
    row_id            text NOT NULL,              -- contact_emails.id or merged_from.id
    email             text,
    from_contact_id   uuid,
    was_primary       boolean,
    PRIMARY KEY (merge_run_id, kind, row_id)
);

-- New Kajabi emails that looked like an existing contact. 'held' emails are not created by any
-- import until the user releases them ('released': created by the next import, never held
-- again) or merges them into the candidate ('merged': linked through merged_from).
CREATE TABLE IF NOT EXISTS kajabi_sync.duplicate_holds (
    email                 text PRIMARY KEY,       -- lower-cased Kajabi email
    candidate_contact_id  uuid REFERENCES contacts (id) ON DELETE SET NULL,
    candidate_email       text,
    score                 double precision,
    evidence              text,
    status                text NOT NULL DEFAULT 'held'
                          CHECK (status IN ('held', 'released', 'merged')),
    first_held_at         timestamptz NOT NULL DEFAULT now(),
    last_held_at          timestamptz NOT NULL DEFAULT now(),
    decided_at            timestamptz,
    decision_run_id       bigint REFERENCES kajabi_sync.import_runs (id),
    note                  text
);
CREATE INDEX IF NOT EXISTS idx_duplicate_holds_status ON kajabi_sync.duplicate_holds (status);
