"""Injected faults: what should go wrong, for which action, and when.

Owns the fault registry (thread-safe, settable at start-up and at run time), the seeded random
source behind ``probability=``, the per-action request-rate windows, and the translation of a
fired fault into a :class:`ServiceError` value. Must not build HTTP responses or touch state:
``pipeline.py`` asks at fixed points of a request (latency: once the request is parsed, before
authentication; the refusals: after it is validated and before it is applied; the per-number
rejections: inside the AddBulk/AddPhoneNumber handler; the hidden answers: after it is applied) and
serialises what it gets.

Kinds (options in brackets):

* ``throttling`` [``code`` = ``Throttling.User``, ``retry_after_ms``]: 400 before applying; with
  ``retry_after_ms`` the response carries ``x-acs-retry-after``.
* ``service_unavailable`` / ``internal_error`` [``applied`` = False]: 503 / 500; with
  ``applied=True`` the request is applied first (outcome unknown for the client).
* ``bad_gateway`` [``applied`` = False]: a non-JSON 502, as a load balancer would send.
* ``latency`` [``ms``]: ``await asyncio.sleep`` before the request is handled (calls overlap).
* ``drop_after_apply``: the request is applied, then the connection is closed without a response.
* ``reject_numbers`` [``numbers``, ``bucket`` = ``failed`` | ``arrears`` | ``used``]: those
  numbers land in that per-number bucket; consumed only by calls that carry one of them.
* ``rate_limit`` [``per_second``, ``retry_after_ms``]: more than ``per_second`` accepted calls in
  any rolling second (per action) are answered with ``Throttling.User``.

``times=N`` fires for the next N matching calls; ``probability=p`` fires with that chance from a
``random.Random(rng_seed)``; neither fires on every matching call. ``skip=K`` first lets K matching
calls through untouched (they use up neither ``times`` nor a random draw), so a fault can aim at
"the third AddBulkPhoneNumbers" without the test hooking into the client. A call counts for a fault
only when it reaches that fault's point in the pipeline and no earlier fault answered it, exactly as
for ``times``.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ServiceError

KINDS = (
    "throttling",
    "service_unavailable",
    "internal_error",
    "bad_gateway",
    "latency",
    "drop_after_apply",
    "reject_numbers",
    "rate_limit",
)
BUCKETS = ("failed", "arrears", "used")

_OPTIONS: dict[str, frozenset[str]] = {
    "throttling": frozenset({"code", "message", "retry_after_ms"}),
    "service_unavailable": frozenset({"applied"}),
    "internal_error": frozenset({"applied"}),
    "bad_gateway": frozenset({"applied"}),
    "latency": frozenset({"ms"}),
    "drop_after_apply": frozenset(),
    "reject_numbers": frozenset({"numbers", "bucket"}),
    "rate_limit": frozenset({"per_second", "retry_after_ms"}),
}

THROTTLING_MESSAGES = {
    "Throttling": "Request was denied due to request throttling.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
}
SERVICE_UNAVAILABLE = ServiceError(
    "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503
)
INTERNAL_ERROR = ServiceError(
    "InternalError",
    "The request processing has failed due to some unknown error, exception or failure.",
    500,
)
BAD_GATEWAY_BODY = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"  # noqa: E501


@dataclass(frozen=True)
class Fired:
    """A fault that fired for this request: what the server must answer (or do) instead."""

    kind: str
    error: ServiceError | None = None
    retry_after_ms: int | None = None
    bad_gateway: bool = False
    drop: bool = False


@dataclass
class _Fault:
    id: str
    kind: str
    action: str | None
    times: int | None
    probability: float | None
    options: dict[str, Any]
    #: Matching calls still to let through before the fault may fire.
    skip: int = 0
    # rate_limit only: monotonic times of the calls accepted in the last second, per action.
    windows: dict[str, deque[float]] = field(default_factory=dict)

    def matches(self, action: str) -> bool:
        return self.action is None or self.action == action

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "action": self.action,
            "times": self.times,
            "probability": self.probability,
            "skip": self.skip,
            "options": dict(self.options),
        }


def _validate(
    kind: str, times: int | None, probability: float | None, skip: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
    unknown = sorted(set(options) - _OPTIONS[kind])
    if unknown:
        raise ValueError(f"fault {kind!r} takes no option(s) {', '.join(unknown)}")
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
        raise ValueError(f"times must be a positive integer, got {times!r}")
    if probability is not None and not (isinstance(probability, (int, float)) and 0 <= probability <= 1):
        raise ValueError(f"probability must be between 0 and 1, got {probability!r}")
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise ValueError(f"skip must be a non-negative integer, got {skip!r}")
    if kind == "rate_limit" and (times is not None or probability is not None or skip):
        raise ValueError(
            "rate_limit applies to every matching call; times, probability and skip do not apply"
        )
    opts = dict(options)
    retry_after = opts.get("retry_after_ms")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise ValueError(f"retry_after_ms must be a non-negative integer (milliseconds), got {retry_after!r}")
    _KIND_OPTIONS.get(kind, _no_options)(opts)
    return opts


def _no_options(opts: dict[str, Any]) -> None:
    pass


def _throttling_options(opts: dict[str, Any]) -> None:
    code = opts.setdefault("code", "Throttling.User")
    opts.setdefault("message", THROTTLING_MESSAGES.get(code, THROTTLING_MESSAGES["Throttling.User"]))


def _applied_option(opts: dict[str, Any]) -> None:
    opts["applied"] = bool(opts.get("applied", False))


def _latency_options(opts: dict[str, Any]) -> None:
    ms = opts.get("ms")
    if not isinstance(ms, (int, float)) or ms < 0:
        raise ValueError(f"latency needs ms >= 0, got {ms!r}")


def _reject_options(opts: dict[str, Any]) -> None:
    numbers = opts.get("numbers")
    if isinstance(numbers, str) or not isinstance(numbers, Iterable):
        raise ValueError("reject_numbers needs numbers, a list of phone numbers")
    opts["numbers"] = [str(n) for n in numbers]
    bucket = opts.setdefault("bucket", "failed")
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}")


def _rate_limit_options(opts: dict[str, Any]) -> None:
    per_second = opts.get("per_second")
    if not isinstance(per_second, (int, float)) or per_second <= 0:
        raise ValueError(f"rate_limit needs per_second > 0, got {per_second!r}")


_KIND_OPTIONS = {
    "throttling": _throttling_options,
    "service_unavailable": _applied_option,
    "internal_error": _applied_option,
    "bad_gateway": _applied_option,
    "latency": _latency_options,
    "reject_numbers": _reject_options,
    "rate_limit": _rate_limit_options,
}


class Faults:
    """The registry. All methods are thread-safe: the server thread and the test thread share it."""

    def __init__(self, rng_seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._rng_seed = rng_seed
        self._rng = random.Random(rng_seed)

    def inject(
        self,
        kind: str,
        *,
        action: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        skip: int = 0,
        **options: Any,
    ) -> str:
        """Register a fault; returns its id. Raises ValueError for an unknown kind or bad option."""
        opts = _validate(kind, times, probability, skip, options)
        with self._lock:
            fault = _Fault(f"fault-{next(self._ids)}", kind, action, times, probability, opts, skip)
            self._faults.append(fault)
            return fault.id

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self) -> None:
        """Forget every fault and restart the random source, so runs repeat exactly."""
        with self._lock:
            self._faults.clear()
            self._rng = random.Random(self._rng_seed)

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    # -- the points where the server asks --------------------------------------------------------

    def latency_ms(self, action: str) -> float:
        """Total injected latency for this call (every firing latency fault adds its ms)."""
        with self._lock:
            return float(sum(f.options["ms"] for f in self._firing(action, ("latency",))))

    def before_apply(self, action: str) -> Fired | None:
        """The first fault that refuses this call before it is applied, if any."""
        with self._lock:
            now = time.monotonic()
            for f in list(self._faults):
                if not f.matches(action):
                    continue
                if f.kind == "rate_limit":
                    if self._over_rate(f, action, now):
                        return self._throttled("Throttling.User", THROTTLING_MESSAGES["Throttling.User"], f)
                    continue
                pre = f.kind == "throttling" or (
                    f.kind in ("service_unavailable", "internal_error", "bad_gateway")
                    and not f.options["applied"]
                )
                if pre and self._fire(f):
                    return self._fired(f)
            return None

    def after_apply(self, action: str) -> Fired | None:
        """The first fault that hides the response of an applied call, if any."""
        with self._lock:
            for f in list(self._faults):
                if not f.matches(action):
                    continue
                post = f.kind == "drop_after_apply" or (
                    f.kind in ("service_unavailable", "internal_error", "bad_gateway")
                    and f.options["applied"]
                )
                if post and self._fire(f):
                    return self._fired(f)
            return None

    def rejections(self, action: str, numbers: Iterable[str]) -> dict[str, str]:
        """Injected per-number buckets (``failed`` / ``arrears`` / ``used``) for the requested numbers."""
        requested = set(numbers)
        out: dict[str, str] = {}
        with self._lock:
            for f in list(self._faults):
                if f.kind != "reject_numbers" or not f.matches(action):
                    continue
                hit = [n for n in f.options["numbers"] if n in requested]
                # Consumed only by a call that carries one of its numbers, so `times=1` means
                # "reject it once", whatever other calls happen in between.
                if hit and self._fire(f):
                    for n in hit:
                        out.setdefault(n, f.options["bucket"])
        return out

    # -- internals (lock held) -------------------------------------------------------------------

    def _firing(self, action: str, kinds: tuple[str, ...]) -> list[_Fault]:
        return [f for f in list(self._faults) if f.kind in kinds and f.matches(action) and self._fire(f)]

    def _fire(self, f: _Fault) -> bool:
        if f.skip > 0:
            f.skip -= 1  # let through: no random draw, `times` untouched
            return False
        if f.probability is not None and self._rng.random() >= f.probability:
            return False
        if f.times is not None:
            f.times -= 1
            if f.times <= 0:
                self._faults.remove(f)
        return True

    def _over_rate(self, f: _Fault, action: str, now: float) -> bool:
        window = f.windows.setdefault(action, deque())
        while window and now - window[0] >= 1.0:
            window.popleft()
        if len(window) >= f.options["per_second"]:
            return True  # refused calls do not count: a client backing off gets through
        window.append(now)
        return False

    @staticmethod
    def _throttled(code: str, message: str, f: _Fault) -> Fired:
        return Fired(
            kind=f.kind,
            error=ServiceError(code, message, 400),
            retry_after_ms=f.options.get("retry_after_ms"),
        )

    def _fired(self, f: _Fault) -> Fired:
        if f.kind == "throttling":
            return self._throttled(f.options["code"], f.options["message"], f)
        if f.kind == "service_unavailable":
            return Fired(kind=f.kind, error=SERVICE_UNAVAILABLE)
        if f.kind == "internal_error":
            return Fired(kind=f.kind, error=INTERNAL_ERROR)
        if f.kind == "bad_gateway":
            return Fired(kind=f.kind, bad_gateway=True)
        return Fired(kind=f.kind, drop=True)
