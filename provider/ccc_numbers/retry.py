"""How the client retries and paces its calls: backoff, budget, the process-wide rate limit, test mode.

Owns the policy, none of the wire: :func:`call_with_retries` runs one API call (a callable that
raises :mod:`ccc_numbers.errors`) until it succeeds, fails for good, or the attempts or the time
budget of a :class:`ccc_numbers.config.RetryPolicy` run out; :class:`TokenBucket` and
:func:`limiter_for` pace every call of the process per endpoint; :func:`set_testing` and
:func:`instant_retries` make the waits instant for tests (like stamina's test mode).

Retried: throttling (``ThrottledError`` with a ``Throttling*`` code), 5xx (``ThrottledError`` with
``outcome_unknown``) and network errors (``TransportError``), with exponential backoff and full
jitter from ``base_delay_ms``, capped at ``max_delay_ms``; an ``x-acs-retry-after`` the service
sent (``retry_after_ms``) is honoured, capped the same way. A call made with ``resend=False``
(AddBulkPhoneNumbers) is **never sent again once it may have been applied** (5xx, timeout, a
connection lost after sending): the error goes to the caller with ``outcome_unknown=True``, and
the executor lists before adding again. Throttling refuses a request before applying it, so a
throttled add is retried.

Must not import the Alibaba SDK or know wire names: the client hands it a callable that already
translates SDK errors. Must not keep anything per operation: the buckets are per endpoint and
process, shared by every thread and client, on purpose.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .config import RetryPolicy
from .errors import CccError, ThrottledError, TransportError, plural

__all__ = [
    "TokenBucket",
    "backoff",
    "call_with_retries",
    "instant_retries",
    "limiter_for",
    "set_testing",
]

_log = logging.getLogger(__name__)

T = TypeVar("T")


# ------------------------------------------------------------------------------------------------
# Test mode


class _Testing:
    """Process-wide retry test mode: waits are recorded instead of slept."""

    def __init__(self) -> None:
        #: set_testing(True): instant for the whole process.
        self.forced = False
        #: instant_retries() blocks open, in any thread. A count, not a saved previous value: two
        #: overlapping blocks in two threads would otherwise end with the first one's "before".
        self.depth = 0
        self.recorders: list[list[float]] = []
        self.lock = threading.Lock()

    @property
    def instant(self) -> bool:
        return self.forced or self.depth > 0


_testing = _Testing()


def set_testing(instant: bool) -> None:
    """Make retry waits instant (``True``) or real again (``False``) for the whole process.

    Attempts, budgets and retry-after still count as if the waits had happened; only the sleeping
    is skipped. The rate limiter is not affected (it is what some tests measure).
    """
    _testing.forced = instant


@contextmanager
def instant_retries() -> Iterator[list[float]]:
    """Make retry waits instant inside the block; yields the list of waits (seconds) that were skipped."""
    waits: list[float] = []
    testing = _testing  # the one entered is the one left, even if a test swaps the global meanwhile
    with testing.lock:
        testing.depth += 1
        testing.recorders.append(waits)
    try:
        yield waits
    finally:
        with testing.lock:
            testing.recorders.remove(waits)
            testing.depth -= 1


def _sleep(seconds: float) -> None:
    if _testing.instant:
        with _testing.lock:
            for recorder in _testing.recorders:
                recorder.append(seconds)
        return
    time.sleep(seconds)


# ------------------------------------------------------------------------------------------------
# Rate limit


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``capacity`` saved up.

    A caller that finds the bucket empty reserves the next token (the balance goes negative) and
    sleeps outside the lock until it is due, so waiters are served in arrival order without polling.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._rate = rate
        self._capacity = capacity if capacity is not None else _default_capacity(rate)
        self._tokens = self._capacity
        self._stamp = clock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self._rate = rate
            self._capacity = _default_capacity(rate)
            self._tokens = min(self._tokens, self._capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait


def _default_capacity(rate: float) -> float:
    # A small burst keeps any one-second window close to `rate` (a full second's burst would allow
    # twice the rate across a window boundary, and real CCC limits are per second).
    return max(1.0, rate / 10.0)


_limiters: dict[str, TokenBucket] = {}
_limiters_lock = threading.Lock()


def limiter_for(endpoint_url: str, rate: float) -> TokenBucket:
    """The process's one bucket for this endpoint, at ``rate`` calls per second (the latest rate wins)."""
    with _limiters_lock:
        bucket = _limiters.get(endpoint_url)
        if bucket is None:
            bucket = _limiters[endpoint_url] = TokenBucket(rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate)
        return bucket


# ------------------------------------------------------------------------------------------------
# Retries


def backoff(policy: RetryPolicy, attempt: int, retry_after_ms: int | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    The service's retry-after when it sent one, else full jitter under ``base · 2^(attempt-1)``;
    both capped at ``max_delay_ms``.
    """
    cap = policy.max_delay_ms / 1000.0
    if retry_after_ms is not None and retry_after_ms > 0:
        return min(retry_after_ms / 1000.0, cap)
    ceiling = min(cap, policy.base_delay_ms / 1000.0 * math.pow(2, attempt - 1))
    return random.uniform(0.0, ceiling)


def _account(err: CccError, attempt: int, earlier_unknown: bool) -> None:
    """Record the attempts on the error; one earlier attempt of unknown outcome makes the call's unknown."""
    err.attempts = attempt
    if earlier_unknown:
        err.outcome_unknown = True


def call_with_retries(
    send: Callable[[], T],
    *,
    policy: RetryPolicy,
    limiter: TokenBucket,
    resend: bool,
    label: str,
) -> T:
    """``send()`` until it returns, with a token per attempt; ``resend=False``: never repeat an applied call.

    ``label`` (the action and API name) is for log lines only. The error that ends the loop carries
    ``attempts`` and, when it was retried, a ``retry_note`` saying why the retries stopped.
    """
    started = time.monotonic()
    virtual_wait = 0.0
    attempt = 0
    earlier_unknown = False  # an earlier attempt may have been applied
    while True:
        attempt += 1
        limiter.acquire()
        try:
            return send()
        except (ThrottledError, TransportError) as err:
            _account(err, attempt, earlier_unknown)
            if err.outcome_unknown and not resend:
                _log.debug("%s: outcome unknown, not re-sent: %s", label, err.reason)
                raise
            if attempt >= policy.max_attempts:
                if attempt > 1:
                    err.retry_note = f"gave up after {attempt} attempts"
                raise
            asked = err.retry_after_ms if isinstance(err, ThrottledError) else None
            delay = backoff(policy, attempt, asked)
            spent = time.monotonic() - started + virtual_wait
            if spent + delay > policy.budget_seconds:
                err.retry_note = (
                    f"gave up after {plural(attempt, 'attempt')}: waiting {delay:.1f} s more would "
                    f"exceed the retry budget of {policy.budget_seconds:g} s"
                )
                raise
            earlier_unknown = err.outcome_unknown
            _log.debug("%s: attempt %d failed (%s); retrying in %.3f s", label, attempt, err.reason, delay)
            if _testing.instant:
                virtual_wait += delay
            _sleep(delay)
        except CccError as err:
            _account(err, attempt, earlier_unknown)
            if attempt > 1:
                err.retry_note = f"on attempt {attempt}"
            raise
