-- The duplicate finder's keys of every live contact, kept in the database (db/match_keys.py), so
-- a week's new emails are compared with the few contacts sharing a key with them instead of
-- building keys for every live contact in Python.
--
-- A cache of what matching.prefilter computes from each contact's fields: no fact lives only
-- here. Each row carries `source`, a fingerprint of the fields it was computed from and of the
-- code that computed it; every planning run first deletes the rows whose fingerprint no longer
-- matches their live contact (edited, merged away, soft-deleted, or the code changed) and
-- computes the missing ones, in the transaction that reads the contacts. So the table never
-- has to be maintained by whatever else writes contacts, and it holds exactly the live
-- contacts when it is searched.
--
-- pass_*: a 64-bit hash of the contact's key in each blocking pass (NULL when it has none),
-- searched with the hashes of the new rows' keys; a hash may be shared by two keys, so what
-- they find is checked exactly in Python. *_text: the normalised values whose population counts
-- the scoring reads, counted here through their indexes.
CREATE TABLE IF NOT EXISTS kajabi_sync.match_keys (
    contact_id                             uuid PRIMARY KEY,
    source                                 text NOT NULL,
    pass_first_last                        bigint,
    pass_last_postcode                     bigint,
    pass_first_postcode                    bigint,
    pass_last_street                       bigint,
    pass_first_street                      bigint,
    pass_house_number_street               bigint,
    pass_house_number_postcode             bigint,
    pass_first_initial_last_prefix_city    bigint,
    pass_last_prefix_postcode              bigint,
    pass_street_postcode                   bigint,
    pass_line2_postcode                    bigint,
    pass_first_initial_last_prefix_street  bigint,
    pass_first_house_number_city           bigint,
    pass_first_house_number_postcode       bigint,
    pass_first_city_squeezed               bigint,
    pass_last_city_squeezed                bigint,
    pass_line2_city_squeezed               bigint,
    pass_street_word_house_number          bigint,
    pass_street_word_last_prefix           bigint,
    pass_last_house_number_city            bigint,
    pass_email_local                       bigint,
    pass_phone_all                         bigint,
    pass_phone_main                        bigint,
    first_text                             text,
    last_text                              text,
    line2_text                             text,
    postcode_text                          text,
    state_text                             text,
    country_text                           text
);
CREATE INDEX IF NOT EXISTS idx_match_keys_first ON kajabi_sync.match_keys (first_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_last ON kajabi_sync.match_keys (last_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_line2 ON kajabi_sync.match_keys (line2_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_postcode ON kajabi_sync.match_keys (postcode_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_state ON kajabi_sync.match_keys (state_text);
CREATE INDEX IF NOT EXISTS idx_match_keys_country ON kajabi_sync.match_keys (country_text);
