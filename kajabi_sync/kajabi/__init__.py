"""Kajabi export files: reading and validating the weekly contacts export (and, elsewhere, writing imports)."""

from kajabi_sync.kajabi.reader import (
    ExportFile,
    KajabiFormatError,
    RawExport,
    export_date_from_name,
    read_kajabi_export,
)
from kajabi_sync.kajabi.validate import ValidatedExport, validate_export

__all__ = [
    "ExportFile",
    "KajabiFormatError",
    "RawExport",
    "ValidatedExport",
    "export_date_from_name",
    "read_kajabi_export",
    "validate_export",
]
