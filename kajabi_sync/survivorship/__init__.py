"""Field-level survivorship: who wins, field by field, when Kajabi and the database disagree."""
