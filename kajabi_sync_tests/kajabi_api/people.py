"""The fake Kajabi's secret and people, for the API tests (the fake itself: conftest.py)."""

from __future__ import annotations

from kajabi_sync.demo.fake_kajabi import FakeKajabi

SECRET = "s3cr3t-never-shown"


def add_people(fake: FakeKajabi, count: int, **extra: str) -> list[str]:
    return [
        fake.add_contact(name=f"Person Number{i}", email=f"p{i}@example.com", **extra)
        for i in range(count)
    ]
