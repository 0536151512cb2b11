"""Listings shared within one provider process: an instance's bindings for reads, its contact flows
and skill groups for the write preflight.

A refresh reads every binding, and the engine runs those reads in parallel; the bindings of one
instance would each list the same instance. Here concurrent and back-to-back reads of an instance
share one listing (single flight), under two rules that keep them honest:

* a listing is never served once this process has started a write to that instance after the
  listing began (every write calls :meth:`SharedListings.note_write` before and after it), so a read
  never sees an instance older than the process's own last write;
* a listing is served for at most ``max_age`` seconds after it began, so a long-lived process still
  sees changes made elsewhere.

Create and update never use :data:`shared`: they plan against a fresh listing of their own. They do
share :data:`contact_flows` and :data:`skill_groups` (``preflight.py``): the provider never writes
those, so one listing per instance serves every binding of an ``up`` (the age bound still applies).

Owns the caches and their rules only. Must not call the API itself (the caller passes the fetch) or
hold credentials: entries are keyed by endpoint URL, access key id and instance id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from .client import BoundNumber, ContactFlow, SkillGroup

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "ListingKey",
    "SharedListings",
    "clear",
    "contact_flows",
    "shared",
    "skill_groups",
]

T = TypeVar("T")

#: (endpoint URL, access key id or "" for the default chain, instance id)
ListingKey = tuple[str, str, str]

#: Long enough for one refresh of many bindings, short enough that a reused host sees outside changes.
DEFAULT_MAX_AGE_SECONDS = 30.0


@dataclass
class _Entry(Generic[T]):
    generation: int
    started: float
    done: threading.Event = field(default_factory=threading.Event)
    value: T | None = None
    failed: bool = False


class SharedListings(Generic[T]):
    """Single-flight, write-invalidated, age-bounded cache of one value per key."""

    def __init__(
        self, max_age_seconds: float = DEFAULT_MAX_AGE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._generations: dict[ListingKey, int] = {}
        self._entries: dict[ListingKey, _Entry[T]] = {}

    def get(self, key: ListingKey, fetch: Callable[[], T]) -> T:
        """The shared listing for `key`: joins one in flight, reuses a valid one, or fetches it."""
        with self._lock:
            generation = self._generations.get(key, 0)
            entry = self._entries.get(key)
            usable = (
                entry is not None
                and entry.generation == generation
                and not entry.failed
                and self._clock() - entry.started < self._max_age
            )
            if not usable:
                entry = _Entry(generation, self._clock())
                self._entries[key] = entry
                leader = True
            else:
                leader = False
        assert entry is not None  # for the type checker: set on both branches above
        if leader:
            return self._lead(key, entry, fetch)
        entry.done.wait()
        if entry.failed:
            # The leader's error is its own to report; a follower asks for itself (uncached).
            return fetch()
        assert entry.value is not None
        return entry.value

    def _lead(self, key: ListingKey, entry: _Entry[T], fetch: Callable[[], T]) -> T:
        try:
            entry.value = fetch()
        except BaseException:
            with self._lock:
                entry.failed = True
                if self._entries.get(key) is entry:
                    del self._entries[key]
            raise
        finally:
            entry.done.set()
        return entry.value

    def clear(self) -> None:
        """Forget every listing (a new configuration: possibly another endpoint or account state)."""
        with self._lock:
            self._entries.clear()

    def note_write(self, key: ListingKey) -> None:
        """This process is writing to (or has written to) the instance: no listing from before counts."""
        with self._lock:
            self._generations[key] = self._generations.get(key, 0) + 1
            self._entries.pop(key, None)


#: The provider process's one cache of instance listings: a module global, never on the pickled
#: provider. Cleared by ``configure()``; kept here, not in the executor, so that configure (which
#: runs in every preview) does not import the client.
shared: SharedListings[tuple[BoundNumber, ...]] = SharedListings()

#: Each instance's contact flows and skill groups, for the preflight of writes (``preflight.py``).
contact_flows: SharedListings[tuple[ContactFlow, ...]] = SharedListings()
skill_groups: SharedListings[tuple[SkillGroup, ...]] = SharedListings()


def clear() -> None:
    """Forget every shared listing of this process (``configure()``: maybe another endpoint or account)."""
    for cache in (shared, contact_flows, skill_groups):
        cache.clear()
