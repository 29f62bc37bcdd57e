-- The production contacts database's shape (the contract's schema), created on an
-- empty database and left alone on an existing one (every statement is IF NOT EXISTS).
--
-- citext and pgcrypto are contrib extensions. Production has both; the embedded server's build
-- has neither. gen_random_uuid() is built in since PostgreSQL 13, so pgcrypto is optional. Without
-- citext the email columns fall back to a text domain: kajabi_sync never relies on the database for
-- case-insensitive email equality (matching compares lower-cased keys in the plan), and a unique
-- index on lower(email) below keeps the live-email rule case-insensitive there too.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'citext') THEN
        CREATE EXTENSION IF NOT EXISTS citext;
    ELSIF NOT EXISTS (SELECT 1 FROM pg_type WHERE typname = 'citext') THEN
        CREATE DOMAIN citext AS text;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pgcrypto') THEN
        CREATE EXTENSION IF NOT EXISTS pgcrypto;
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS contacts (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email                   citext NOT NULL,
    first_name              text,
    last_name               text,
    phone                   text,
    address_line_1          text,
    address_line_2          text,
    city                    text,
    state                   text,
    postal_code             text,
    country                 text,
    email_subscribed        boolean DEFAULT false,
    source_system           text NOT NULL DEFAULT 'kajabi',
    kajabi_id               text,
    kajabi_member_id        text,
    zoho_id                 text,
    paypal_email            citext,
    paypal_first_name       text,
    paypal_last_name        text,
    paypal_phone            text,
    paypal_business_name    text,
    shipping_address_line_1 text,
    shipping_address_line_2 text,
    shipping_city           text,
    shipping_state          text,
    shipping_postal_code    text,
    shipping_country        text,
    phone_source            text,
    billing_address_source  text,
    billing_address_updated_at timestamptz,
    notes                   text,
    deleted_at              timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_email_live ON contacts (email) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_contacts_kajabi_id ON contacts (kajabi_id) WHERE kajabi_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS contact_emails (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contact_id  uuid NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    email       citext NOT NULL,
    is_primary  boolean NOT NULL DEFAULT false,
    source      text NOT NULL DEFAULT 'manual',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_contact_emails_email ON contact_emails (email);
CREATE UNIQUE INDEX IF NOT EXISTS ux_contact_emails_contact_email ON contact_emails (contact_id, email);

-- Only where email is the text fallback: keep live emails unique regardless of case.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citext') THEN
        CREATE UNIQUE INDEX IF NOT EXISTS ux_contacts_lower_email_live
            ON contacts (lower(email)) WHERE deleted_at IS NULL;
    END IF;
END
$$;
