"""kajabi_sync: a safe, visible weekly import of Kajabi contacts into a curated Postgres database."""
