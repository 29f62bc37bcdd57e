"""Guards: the numbers that must look right before an import may write (no Dagster here)."""
