"""One emulator's model: its state, faults, journal and knobs, and the operations on them.

Owns the parts every way into the emulator shares (the Python API, the admin endpoints and the
request pipeline): the SQLite store seeded at start, the fault registry, the request journal, the
nonces seen, the run-time knobs with their validation, the out-of-band state operations (reset,
seed, snapshot, bind, unbind) and the reset fence with its generation counter. Must not speak
HTTP (``pipeline.py`` answers requests, ``admin.py`` serves the admin endpoints, ``emulator.py``
runs the server) and must not hold business rules (``service.py``) or SQL (``state.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

from . import demo, service
from .auth import AccessKey, NonceStore
from .faults import Faults
from .journal import Journal, JournalEntry
from .seed import Seed, load_seed, parse_seed
from .state import Store, binding_dict

__all__ = ["EmulatorCore", "SeedSource"]

SeedSource = Mapping[str, Any] | str | os.PathLike[str] | Seed


def _checked_max_batch_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {value!r}")
    return value


def _checked_batch_cap_code(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"batch_cap_code must be a non-empty string, got {value!r}")
    return value


def _checked_batch_cap_message(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"batch_cap_message must be a string, got {value!r}")
    return value


class EmulatorCore:
    """State, faults, journal and knobs of one emulator, without a server (see docs/contracts.md).

    With ``state_path`` the state lives in that SQLite file (an existing one wins over ``seed``);
    otherwise in memory. An AddBulkPhoneNumbers request with more than ``max_batch_size`` numbers
    is refused whole with HTTP 400, ``batch_cap_code`` and ``batch_cap_message`` (``{max}`` in it
    becomes the cap). :class:`~ccc_emulator.Emulator` is this plus an HTTP server.
    """

    def __init__(
        self,
        *,
        seed: SeedSource | None = None,
        state_path: str | os.PathLike[str] | None = None,
        max_batch_size: int = 100,
        latency_ms: float = 0,
        rng_seed: int = 0,
        batch_cap_code: str = service.DEFAULT_BATCH_CAP_CODE,
        batch_cap_message: str = service.DEFAULT_BATCH_CAP_MESSAGE,
    ) -> None:
        self._initial_max_batch_size = _checked_max_batch_size(max_batch_size)
        self._initial_batch_cap_code = _checked_batch_cap_code(batch_cap_code)
        self._initial_batch_cap_message = _checked_batch_cap_message(batch_cap_message)
        self._initial_latency_ms = latency_ms
        self.default_seed: Seed = load_seed(seed) if seed is not None else parse_seed(demo.demo_seed())
        #: The account's state; every API request runs in one of its transactions.
        self.store = Store(os.fspath(state_path) if state_path is not None else None)
        # An existing state file wins over the seed: that is what a restart means. Checked and
        # seeded in one transaction, so two processes opening a new file seed it once.
        with self.store.transaction() as tx:
            if not tx.is_seeded():
                tx.replace(self.default_seed)
        #: Injected faults; the pipeline asks it at fixed points of a request.
        self.fault_registry = Faults(rng_seed)
        #: One entry per API request answered (read it through :attr:`journal`).
        self.request_journal = Journal()
        #: Signature nonces already seen (replay protection).
        self.nonces = NonceStore()
        #: Bumped by every reset(); requests begun under an older generation are dropped unapplied.
        self.generation = 0
        #: The reset fence: held by reset() and by each synchronous stretch of a request (never
        #: across an await), so a request's fault use, state change and journal entry all happen
        #: entirely before or entirely after a reset. A plain threading.Lock: reset() runs on the
        #: caller's thread (or the server's, for the admin endpoint) and is over in milliseconds.
        self.fence = threading.Lock()
        self._max_batch_size = self._initial_max_batch_size
        self._batch_cap_code = self._initial_batch_cap_code
        self._batch_cap_message = self._initial_batch_cap_message
        self.latency_ms: float = self._initial_latency_ms
        self._closed = False

    # -- knobs, settable at run time; reset() restores the constructor's values -------------------

    @property
    def max_batch_size(self) -> int:
        return self._max_batch_size

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        self._max_batch_size = _checked_max_batch_size(value)

    @property
    def batch_cap_code(self) -> str:
        return self._batch_cap_code

    @batch_cap_code.setter
    def batch_cap_code(self, value: str) -> None:
        self._batch_cap_code = _checked_batch_cap_code(value)

    @property
    def batch_cap_message(self) -> str:
        """The refusal's message; ``{max}`` in it is replaced by ``max_batch_size``."""
        return self._batch_cap_message

    @batch_cap_message.setter
    def batch_cap_message(self, value: str) -> None:
        self._batch_cap_message = _checked_batch_cap_message(value)

    # -- state -----------------------------------------------------------------------------------

    def reset(self, seed: SeedSource | None = None) -> None:
        """State back to ``seed`` (default: the constructor's, else demo); journal and faults cleared.

        ``max_batch_size``, ``latency_ms``, ``batch_cap_code`` and ``batch_cap_message`` return to
        their constructor values. A request being applied when this is called finishes first; one
        started before it and still in flight (say, sleeping in injected latency) is dropped without
        being applied or journaled.
        """
        new = load_seed(seed) if seed is not None else self.default_seed
        # Under the fence: no request is between its generation check and its journal entry while
        # this runs, and one that started before it (say, still sleeping in injected latency after
        # its client gave up) sees the new generation and is dropped, so it never applies to the
        # fresh state, uses a fresh fault or lands in the cleared journal.
        with self.fence:
            self.store.replace(new)
            self.generation += 1
            self.request_journal.clear()
            self.fault_registry.clear()
            # Knobs changed at run time go back too, so one test's settings never leak into the next.
            self._max_batch_size = self._initial_max_batch_size
            self.latency_ms = self._initial_latency_ms
            self._batch_cap_code = self._initial_batch_cap_code
            self._batch_cap_message = self._initial_batch_cap_message

    def load_seed(self, seed: SeedSource) -> None:
        """Replace the state with this seed (a dict in the seed-file shape or a JSON file path)."""
        self.store.replace(load_seed(seed))

    def snapshot(self) -> dict[str, Any]:
        with self.store.transaction() as tx:
            return tx.snapshot()

    def bindings(self, instance_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return [binding_dict(b) for b in tx.bindings(instance_id)]

    def bind(
        self,
        number: str,
        instance_id: str,
        usage: str = "Bidirection",
        contact_flow_id: str | None = None,
        skill_group_ids: tuple[str, ...] | list[str] = (),
    ) -> str:
        """Bind behind the API's back (drift; no journal, no faults); returns the PhoneNumberId.

        ValueError if the account does not allow it.
        """
        if usage not in service.USAGES:
            raise ValueError(f"usage must be one of {', '.join(service.USAGES)}, got {usage!r}")
        with self.store.transaction() as tx:
            if not tx.instance_exists(instance_id):
                raise ValueError(f"unknown instance {instance_id!r}")
            if not tx.numbers([number]):
                raise ValueError(f"{number!r} is not a purchased number")
            existing = tx.bindings_by_number([number])
            if existing:
                raise ValueError(f"{number!r} is already bound to instance {existing[number].instance_id}")
            if contact_flow_id is not None and contact_flow_id not in {
                f.id for f in tx.contact_flows(instance_id)
            }:
                raise ValueError(f"unknown contact flow {contact_flow_id!r} in instance {instance_id}")
            groups = {g.id for g in tx.skill_groups(instance_id)}
            for sg in skill_group_ids:
                if sg not in groups:
                    raise ValueError(f"unknown skill group {sg!r} in instance {instance_id}")
            return tx.add_binding(
                number, instance_id, usage, contact_flow_id, skill_group_ids
            ).phone_number_id

    def unbind(self, number: str) -> None:
        """Unbind behind the API's back (drift); ValueError if the number is not bound."""
        with self.store.transaction() as tx:
            existing = tx.bindings_by_number([number])
            if not existing:
                raise ValueError(f"{number!r} is not bound")
            tx.remove_binding(existing[number].phone_number_id)

    def lookup_key(self, key_id: str) -> AccessKey | None:
        """The access key with this id, for signature checks; None if the account has none."""
        with self.store.transaction() as tx:
            k = tx.access_key(key_id)
        return None if k is None else AccessKey(id=k.id, secret=k.secret, security_token=k.security_token)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the SQLite state; idempotent. A closed emulator's state can no longer be read."""
        if not self._closed:
            self._closed = True
            self.store.close()

    # -- journal ---------------------------------------------------------------------------------

    @property
    def journal(self) -> list[JournalEntry]:
        """The API requests answered so far, oldest first (every outcome, admin calls excluded)."""
        return self.request_journal.entries()

    def calls(self, action: str | None = None) -> int:
        """API requests recorded (every outcome) for this action, or for all actions."""
        return self.request_journal.count(action)

    def clear_journal(self) -> None:
        self.request_journal.clear()

    # -- faults ----------------------------------------------------------------------------------

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
        """Register a fault (see faults.py for kinds and options); returns its id.

        ``skip=K`` lets the first K matching calls through before the fault starts firing.
        """
        return self.fault_registry.inject(
            kind, action=action, times=times, probability=probability, skip=skip, **options
        )

    def remove_fault(self, fault_id: str) -> bool:
        return self.fault_registry.remove(fault_id)

    def clear_faults(self) -> None:
        self.fault_registry.clear()

    def faults(self) -> list[dict[str, Any]]:
        """The registered faults, described (with the ``skip`` and ``times`` still left)."""
        return self.fault_registry.describe()
