-- The email key (normalize.email_key: trimmed, lower-cased as text, in Unicode NFC) of every
-- email the guards look new emails up in (guards/facts.py, known_emails): with an index on
-- exactly that expression a lookup probes the index, where otherwise the key of every row of
-- contacts, contact_emails and the active merge memory is computed for each check.
--
-- The expressions must stay identical to facts._email_key_sql's, or no query can use them.
-- normalize(), lower() and btrim() are immutable, and email::text is a plain cast whether email
-- is citext or the text domain of 0001. PostgreSQL normalises Unicode only in a UTF8 database,
-- where the key is in NFC; in any other encoding the key is the lower-cased text (as there).
DO $$
DECLARE
    email_key text := CASE WHEN current_setting('server_encoding') = 'UTF8'
                           THEN 'normalize(lower(btrim(%I::text)), NFC)'
                           ELSE 'lower(btrim(%I::text))' END;
BEGIN
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_contacts_email_key ON contacts ((%s))',
                   format(email_key, 'email'));
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_contact_emails_email_key ON contact_emails ((%s))',
                   format(email_key, 'email'));
    EXECUTE format('CREATE INDEX IF NOT EXISTS idx_merged_from_email_key_active '
                   'ON kajabi_sync.merged_from ((%s)) WHERE undone_at IS NULL',
                   format(email_key, 'merged_email'));
END
$$;
