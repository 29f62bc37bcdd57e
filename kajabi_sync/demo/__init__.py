"""Deterministic demo data: a contacts database and weekly Kajabi exports like the first user's.

``generate_demo(url, data_dir, DemoSpec(contacts=..., weeks=...))`` or
``python -m kajabi_sync.demo --contacts N --weeks W``.
"""

from kajabi_sync.demo.database import NotADemoDatabase
from kajabi_sync.demo.generate import DemoSummary, ExportWeek, generate_demo
from kajabi_sync.demo.spec import DemoSpec

__all__ = ["DemoSpec", "DemoSummary", "ExportWeek", "NotADemoDatabase", "generate_demo"]
