"""The local fake Kajabi API (kajabi_sync.demo.fake_kajabi), started on 127.0.0.1 per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kajabi_sync.demo.fake_kajabi import FakeKajabi
from kajabi_sync.kajabi.api.client import KajabiClient
from kajabi_sync_tests.kajabi_api.people import SECRET


class FakeClock:
    """A monotonic clock that only moves when the client sleeps (no real waiting in tests)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_kajabi() -> Iterator[FakeKajabi]:
    with FakeKajabi(client_id="test-client", client_secret=SECRET) as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(fake_kajabi: FakeKajabi, clock: FakeClock) -> Iterator[KajabiClient]:
    with KajabiClient(
        fake_kajabi.url,
        fake_kajabi.client_id,
        fake_kajabi.client_secret,
        rps=2.0,
        max_wait=60.0,
        sleep=clock.sleep,
        clock=clock,
    ) as api:
        yield api
