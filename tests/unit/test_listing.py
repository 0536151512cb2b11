"""The shared listing cache: single flight, write invalidation, age bound, failures not shared."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ccc_numbers.listing import SharedListings

KEY = ("http://127.0.0.1:1", "AK", "inst-1")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_back_to_back_reads_share_one_fetch() -> None:
    """A second get within the age bound and with no write between returns the first fetch."""
    cache: SharedListings[int] = SharedListings(clock=Clock())
    fetches: list[int] = []
    for _ in range(50):
        cache.get(KEY, lambda: fetches.append(1) or len(fetches))
    assert fetches == [1]


def test_concurrent_reads_join_the_fetch_in_flight() -> None:
    """Readers that arrive while a fetch runs wait for it instead of fetching again."""
    cache: SharedListings[str] = SharedListings()
    started = threading.Event()
    release = threading.Event()
    calls: list[str] = []

    def fetch() -> str:
        calls.append("fetch")
        started.set()
        release.wait(5)
        return "listing"

    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(cache.get, KEY, fetch)
        assert started.wait(5)
        others = [pool.submit(cache.get, KEY, fetch) for _ in range(7)]
        release.set()
        results = [first.result(5), *(f.result(5) for f in others)]
    assert results == ["listing"] * 8
    assert calls == ["fetch"]


def test_a_write_makes_earlier_listings_unusable() -> None:
    """After note_write the next get fetches again, so a read never predates the process's own write."""
    cache: SharedListings[int] = SharedListings(clock=Clock())
    values = iter([1, 2, 3])
    assert cache.get(KEY, lambda: next(values)) == 1
    cache.note_write(KEY)
    assert cache.get(KEY, lambda: next(values)) == 2
    assert cache.get(KEY, lambda: next(values)) == 2


def test_a_listing_fetched_during_a_write_is_not_served_after_it() -> None:
    """A fetch that began before the write's closing note_write is refetched by the next reader."""
    cache: SharedListings[int] = SharedListings(clock=Clock())
    values = iter([1, 2])
    cache.note_write(KEY)  # the write starts
    assert cache.get(KEY, lambda: next(values)) == 1  # a read during the write
    cache.note_write(KEY)  # the write ends
    assert cache.get(KEY, lambda: next(values)) == 2


def test_listings_expire_after_the_age_bound() -> None:
    """A listing older than max_age is fetched again, so a long-lived process sees outside changes."""
    clock = Clock()
    cache: SharedListings[int] = SharedListings(max_age_seconds=30.0, clock=clock)
    values = iter([1, 2])
    assert cache.get(KEY, lambda: next(values)) == 1
    clock.now = 29.9
    assert cache.get(KEY, lambda: next(values)) == 1
    clock.now = 30.0
    assert cache.get(KEY, lambda: next(values)) == 2


def test_keys_are_independent_and_clear_forgets_all() -> None:
    """Another instance (or endpoint, or key) has its own listing; clear() drops every one."""
    cache: SharedListings[str] = SharedListings(clock=Clock())
    other = ("http://127.0.0.1:1", "AK", "inst-2")
    assert cache.get(KEY, lambda: "a") == "a"
    assert cache.get(other, lambda: "b") == "b"
    cache.note_write(other)
    assert cache.get(KEY, lambda: "changed") == "a"
    cache.clear()
    assert cache.get(KEY, lambda: "fresh") == "fresh"


def test_a_failed_fetch_is_raised_to_its_caller_and_not_cached() -> None:
    """The leader's error goes to the leader; the next reader fetches anew."""
    cache: SharedListings[str] = SharedListings(clock=Clock())

    def boom() -> str:
        raise RuntimeError("listing failed")

    with pytest.raises(RuntimeError, match=r"^listing failed$"):
        cache.get(KEY, boom)
    assert cache.get(KEY, lambda: "ok") == "ok"
