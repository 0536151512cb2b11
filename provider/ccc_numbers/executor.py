"""Carries out a binding's changes with the CCC API: list once, plan, then calls in a fixed order.

Owns, for one operation (create, update, read, delete):

* the order of calls: one ListPhoneNumbers, then removes, then AddBulkPhoneNumbers batches, then
  ModifyPhoneNumber calls; each phase waits for the previous one;
* bounded concurrency: one ``ThreadPoolExecutor`` per operation with ``max_concurrency`` workers (the
  client's process-wide rate limit paces them);
* partial-failure accounting: which numbers this operation bound, every rejected number with its
  reason in words, and the rollback (unbinding what this operation bound) when it fails;
* reconciliation: an add whose outcome is unknown is followed by a listing, and only the numbers
  still missing are sent again, so a number is never added twice; a remove answered with
  NotFound is done;
* a batch the service refuses as too large is split with ``plan.rebatch`` to the size
  ``plan.reduced_batch_size`` names, and that smaller size holds for the rest of the operation;
* the context in error messages (``batch 2/3``, the phone number behind a PhoneNumberId);
* telling ``listing.shared`` about every write, before and after, so that reads (which share one
  listing per instance) never see an instance older than this process's own last write.

Must not decide batching or compare settings (``plan.py``), read hook dicts or build outputs
(``binding.py``), or touch the wire (``client.py``). It keeps nothing between operations: the pool,
the lock and the current batch size live in the operation's own objects, never on the provider.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

from .client import AddBulkOutcome, BoundNumber, CccClient
from .config import ProviderSettings, RuntimeConfig, current
from .errors import (
    ApplyError,
    BatchTooLargeError,
    CccError,
    NotFoundError,
    OwnershipError,
    PartialFailureError,
    plural,
)
from .listing import ListingKey
from .listing import shared as _listings
from .models import BindingSpec
from .plan import (
    AddBatch,
    Limits,
    LiveNumber,
    Modify,
    Plan,
    Remove,
    compute_plan,
    find_conflicts,
    rebatch,
    reduced_batch_size,
)

__all__ = [
    "ARREARS_REASON",
    "FAILED_REASON",
    "USED_ELSEWHERE_REASON",
    "converge",
    "read_live",
    "unbind",
]

_log = logging.getLogger(__name__)

#: Why a number landed in ArrearagePhoneNumbers.
ARREARS_REASON = "the account or number is in arrears"
#: Why a number landed in FailedPhoneNumbers.
FAILED_REASON = "not purchased in this account or rejected by the service"
#: Why a number landed in UserdPhoneNumbers when it is not bound in this instance.
USED_ELSEWHERE_REASON = "already in use: bound to another CCC instance (unbind it there first)"
_USED_UNCLASSIFIED = "already in use, bound to this or another CCC instance (listing to tell which failed)"
_UNACCOUNTED_REASON = "the service neither bound nor rejected it"
_ADOPT_HINT = "adopt_existing=True takes it over, for example after an interrupted run"


def _used_here_reason(phone_number_id: str) -> str:
    # Commas, not semicolons: the reasons of several numbers are joined with semicolons.
    return (
        f"already bound in this CCC instance as PhoneNumberId {phone_number_id} but not owned by this "
        f"binding ({_ADOPT_HINT})"
    )


# ------------------------------------------------------------------------------------------------
# Live state


def _index_live(
    listing: Iterable[BoundNumber], known_ids: Mapping[str, str | None]
) -> dict[str, BoundNumber]:
    """The listing keyed by number, under our spelling wherever a known PhoneNumberId matches."""
    live = {bound.number: bound for bound in listing}
    by_id = {bound.phone_number_id: bound for bound in live.values()}
    for number, pid in known_ids.items():
        bound = by_id.get(pid) if pid else None
        if bound is not None and bound.number != number:
            # The API spelled our number differently; the id says it is the same binding.
            del live[bound.number]
            live[number] = bound
    return live


def _live_numbers(live: Mapping[str, BoundNumber]) -> dict[str, LiveNumber]:
    return {number: LiveNumber(number, b.phone_number_id, b.settings) for number, b in live.items()}


# ------------------------------------------------------------------------------------------------
# One operation's bookkeeping


class _Operation:
    """The state of one create/update/delete: pool, failures, numbers bound, current batch size."""

    def __init__(
        self, client: CccClient, instance_id: str, settings: ProviderSettings, pool: ThreadPoolExecutor
    ) -> None:
        self.client = client
        self.instance_id = instance_id
        self.settings = settings
        self.pool = pool
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.errors: list[Exception] = []
        self.batch_size = settings.batch_size
        #: Numbers this operation bound, with what the API reported.
        self.added: dict[str, BoundNumber] = {}
        #: Numbers sent in an add whose outcome is unknown and could not be reconciled.
        self.uncertain: dict[str, None] = {}
        self.modified: dict[str, BoundNumber] = {}
        self.used: list[str] = []
        self.rejected: dict[str, str] = {}

    # -- running tasks -----------------------------------------------------------------------

    def run_all(self, tasks: Sequence[Callable[[], None]]) -> None:
        """Run the tasks on the pool; after the first failure, tasks not yet started are skipped."""
        for future in [self.pool.submit(self._guarded, task) for task in tasks]:
            future.result()

    def _guarded(self, task: Callable[[], None]) -> None:
        if self._stop.is_set():
            return
        try:
            task()
        except Exception as err:
            # Any failure, ours or a bug: collected so that the rollback still runs, then re-raised.
            with self._lock:
                self.errors.append(err)
            self._stop.set()

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    # -- removes -----------------------------------------------------------------------------

    def remove(self, number: str, phone_number_id: str) -> bool:
        """Unbind one number; True when it was bound, False when it was gone already."""
        try:
            self.client.remove(self.instance_id, phone_number_id)
        except NotFoundError:
            _log.debug("phone number %s (%s) was not bound any more", number, phone_number_id)
            return False
        except CccError as err:
            err.annotate(f"phone number {number}")
            raise
        return True

    def remove_all(self, removes: Sequence[Remove]) -> None:
        self.run_all([partial(_discard, self.remove, r.number, r.phone_number_id) for r in removes])

    # -- adds --------------------------------------------------------------------------------

    def add_all(self, batches: Sequence[AddBatch]) -> None:
        total = len(batches)
        self.run_all([partial(self._add_batch, b, f"batch {i}/{total}") for i, b in enumerate(batches, 1)])
        self._classify_used()
        if self.rejected:
            count = sum(len(b.numbers) for b in batches)
            self.errors.append(
                PartialFailureError(
                    f"adding {plural(count, 'phone number')} to CCC instance {self.instance_id}",
                    bound=sorted(self.added),
                    rejected=self.rejected,
                )
            )

    def _add_batch(self, batch: AddBatch, label: str) -> None:
        with self._lock:
            size = self.batch_size
        for chunk in rebatch([batch], size):
            if self._stop.is_set():
                return
            self._send(chunk, label)

    def _send(self, chunk: AddBatch, label: str) -> None:
        """One AddBulkPhoneNumbers call for `chunk`, split or reconciled as the answers require."""
        resends = 0
        while not self._stop.is_set():
            with self._lock:
                size = self.batch_size
            if len(chunk.numbers) > size:
                # Another batch learnt a smaller cap while this one waited.
                for part in rebatch([chunk], size):
                    self._send(part, label)
                return
            try:
                outcome = self.client.add_bulk(self.instance_id, chunk.numbers, chunk.settings)
            except BatchTooLargeError as err:
                smaller = reduced_batch_size(len(chunk.numbers), err.maximum)
                if smaller >= len(chunk.numbers):
                    err.annotate(label)
                    raise
                with self._lock:
                    self.batch_size = min(self.batch_size, smaller)
                _log.info(
                    "CCC instance %s refused %d numbers in one call (%s); sending at most %d per call",
                    self.instance_id, len(chunk.numbers), err.reason, smaller,
                )
                continue
            except CccError as err:
                if not err.outcome_unknown:
                    err.annotate(label)
                    raise
                missing = self._reconcile(chunk, label, err)
                if not missing:
                    return
                resends += 1
                if resends >= self.settings.retry.max_attempts:
                    err.annotate(f"{label}, {plural(len(missing), 'number')} still not bound after "
                                 f"{plural(resends, 'attempt')}")
                    raise
                chunk = AddBatch(chunk.settings, missing)
                continue
            self._record(chunk, outcome, label)
            return

    def _reconcile(self, chunk: AddBatch, label: str, err: CccError) -> tuple[str, ...]:
        """After an add with an unknown outcome: what the listing shows bound is done; the rest is missing."""
        with self._lock:
            self.uncertain.update(dict.fromkeys(chunk.numbers))
        try:
            live = _index_live(self.client.list_numbers(self.instance_id), {})
        except CccError as list_err:
            err.annotate(f"{label}; listing the instance to learn whether it was applied failed ({list_err})")
            raise err from list_err
        missing = tuple(number for number in chunk.numbers if number not in live)
        with self._lock:
            for number in chunk.numbers:
                self.uncertain.pop(number, None)
                if number in live:
                    self.added[number] = live[number]
        _log.info(
            "adding %d numbers to CCC instance %s, %s: outcome unknown (%s); the listing shows %d bound, "
            "re-adding the other %d",
            len(chunk.numbers), self.instance_id, label, err.reason, len(chunk.numbers) - len(missing),
            len(missing),
        )
        return missing

    def _record(self, chunk: AddBatch, outcome: AddBulkOutcome, label: str) -> None:
        bound = {b.number: b for b in outcome.bound}
        refused = set(outcome.used) | set(outcome.arrears) | set(outcome.failed)
        with self._lock:
            self.added.update(bound)
            self.used.extend(outcome.used)
            self.rejected.update(dict.fromkeys(outcome.arrears, ARREARS_REASON))
            self.rejected.update(dict.fromkeys(outcome.failed, FAILED_REASON))
            for number in chunk.numbers:
                if number not in bound and number not in refused:
                    self.rejected[number] = _UNACCOUNTED_REASON
        _log.debug(
            "adding %d numbers to CCC instance %s, %s: %d bound, %d refused",
            len(chunk.numbers), self.instance_id, label, len(bound), len(chunk.numbers) - len(bound),
        )

    def _classify_used(self) -> None:
        """Tell "bound in this instance" from "bound elsewhere" for UserdPhoneNumbers, with one listing."""
        if not self.used:
            return
        try:
            live = _index_live(self.client.list_numbers(self.instance_id), {})
        except CccError:
            _log.debug("listing to classify used numbers failed", exc_info=True)
            self.rejected.update(dict.fromkeys(self.used, _USED_UNCLASSIFIED))
            return
        for number in self.used:
            here = live.get(number)
            self.rejected[number] = (
                _used_here_reason(here.phone_number_id) if here is not None else USED_ELSEWHERE_REASON
            )

    # -- modifies ----------------------------------------------------------------------------

    def _modify(self, change: Modify) -> None:
        try:
            bound = self.client.modify(self.instance_id, change.phone_number_id, change.settings)
        except CccError as err:
            err.annotate(f"phone number {change.number}")
            raise
        with self._lock:
            self.modified[change.number] = bound

    def modify_all(self, modifies: Sequence[Modify]) -> None:
        self.run_all([partial(self._modify, m) for m in modifies])

    # -- rollback ----------------------------------------------------------------------------

    def roll_back(self) -> tuple[list[str], dict[str, str]]:
        """Unbind what this operation bound: (numbers unbound, {number: why it stays bound})."""
        targets = {number: b.phone_number_id for number, b in self.added.items()}
        left: dict[str, str] = {}
        unsure = [number for number in self.uncertain if number not in targets]
        if unsure:
            try:
                live = _index_live(self.client.list_numbers(self.instance_id), {})
            except CccError as err:
                why = f"its add had an unknown outcome and listing the instance failed ({err})"
                left.update(dict.fromkeys(unsure, why))
            else:
                targets.update({n: live[n].phone_number_id for n in unsure if n in live})
        undone: list[str] = []
        lock = threading.Lock()

        def undo(number: str, pid: str) -> None:
            try:
                self.remove(number, pid)
            except CccError as err:
                with lock:
                    left[number] = f"PhoneNumberId {pid}: {err}"
                return
            with lock:
                undone.append(number)

        for future in [self.pool.submit(undo, n, pid) for n, pid in sorted(targets.items())]:
            future.result()
        if undone or left:
            _log.info(
                "rolled back in CCC instance %s: %d numbers unbound again, %d could not be",
                self.instance_id, len(undone), len(left),
            )
        return undone, left


# ------------------------------------------------------------------------------------------------
# Operations


def _runtime(runtime: RuntimeConfig | None) -> RuntimeConfig:
    return runtime if runtime is not None else current()


def _listing_key(rt: RuntimeConfig, instance_id: str) -> ListingKey:
    key_id = rt.credentials.access_key_id if rt.credentials is not None else ""
    return (rt.endpoint().url, key_id, instance_id)


@contextmanager
def _writing(rt: RuntimeConfig, instance_id: str) -> Iterator[None]:
    """Around every write to an instance: shared listings from before (or during) it stop counting."""
    key = _listing_key(rt, instance_id)
    _listings.note_write(key)
    try:
        yield
    finally:
        _listings.note_write(key)


def converge(
    spec: BindingSpec,
    owned: Mapping[str, str | None],
    *,
    operation: str,
    runtime: RuntimeConfig | None = None,
) -> dict[str, BoundNumber]:
    """Make the instance's bindings of `owned` and desired numbers match `spec`; the live result.

    `owned` maps the numbers this binding owns (none for a create) to their last known
    PhoneNumberId (None when unknown). `operation` (``create`` / ``update``) is used in messages.
    Returns every desired number as bound now. On failure, unbinds what this call bound (best
    effort) and raises :class:`ApplyError`; a number already bound but not owned raises
    :class:`OwnershipError` before any write unless ``spec.adopt_existing``.
    """
    rt = _runtime(runtime)
    settings = rt.settings
    client = CccClient(rt)
    instance_id = spec.instance_id
    action = (
        f"{'creating' if operation == 'create' else 'updating'} the binding of "
        f"{plural(len(spec.numbers), 'phone number')} to CCC instance {instance_id}"
    )
    live = _index_live(client.list_numbers(instance_id), owned)
    live_numbers = _live_numbers(live)
    conflicts = find_conflicts(live_numbers, spec.numbers, owned)
    if conflicts and not spec.adopt_existing:
        raise OwnershipError(action, {c.number: c.phone_number_id for c in conflicts})
    # Adopted numbers are owned from now on: compute_plan brings their settings to the desired ones.
    effective_owned: Collection[str] = set(owned) | {c.number for c in conflicts}
    plan: Plan = compute_plan(live_numbers, spec.numbers, effective_owned, Limits(settings.batch_size))
    _log.info(
        "%s of CCC instance %s: %s%s", operation, instance_id, plan.summary,
        f" (adopting {len(conflicts)})" if conflicts else "",
    )
    if not plan.is_empty:
        with _writing(rt, instance_id), ThreadPoolExecutor(
            settings.max_concurrency, thread_name_prefix="ccc-apply"
        ) as pool:
            op = _Operation(client, instance_id, settings, pool)
            _apply(op, plan, action, operation)
            live.update(op.added)
            live.update(op.modified)
    missing = [number for number in spec.numbers if number not in live]
    if missing:  # pragma: no cover - every phase either binds its numbers or raises
        raise CccError(action, f"not bound after all: {', '.join(missing)}")
    return {number: live[number] for number in spec.numbers}


def _apply(op: _Operation, plan: Plan, action: str, operation: str) -> None:
    """Removes, then adds, then modifies; a failure stops the phases and rolls back the adds."""
    op.remove_all(plan.removes)
    if not op.failed:
        op.add_all(plan.add_batches)
    if not op.failed:
        op.modify_all(plan.modifies)
    if not op.failed:
        return
    # The engine keeps the old outputs after a failed create or update, so numbers this call bound
    # would be owned by nobody; unbinding them lets the next run bind them again (binding.py).
    undone, left = op.roll_back() if (op.added or op.uncertain) else ([], {})
    failure = ApplyError(action, errors=op.errors, operation=operation, rolled_back=undone, left_bound=left)
    raise failure from op.errors[0]


def read_live(
    instance_id: str, owned: Mapping[str, str | None], *, runtime: RuntimeConfig | None = None
) -> dict[str, BoundNumber]:
    """The owned numbers still bound in the instance (matched by PhoneNumberId, then by number).

    The reads of one process share one listing per instance (``listing.py``): a refresh of many
    bindings in one instance lists it once. An instance that does not exist any more has no
    bindings: empty, not an error.
    """
    rt = _runtime(runtime)
    client = CccClient(rt)
    try:
        listing = _listings.get(_listing_key(rt, instance_id), partial(client.list_numbers, instance_id))
    except NotFoundError:
        _log.info("CCC instance %s does not exist any more", instance_id)
        return {}
    live = _index_live(listing, owned)
    return {number: live[number] for number in sorted(owned) if number in live}


def unbind(
    instance_id: str, owned: Mapping[str, str | None], *, runtime: RuntimeConfig | None = None
) -> None:
    """Unbind every owned number, concurrently; one that is gone already counts as done.

    Removes by the stored PhoneNumberId; a number whose id is stale (NotFound) or unknown is looked
    up by number in one listing. Never touches another number.
    """
    rt = _runtime(runtime)
    client = CccClient(rt)
    action = f"deleting the binding of {plural(len(owned), 'phone number')} to CCC instance {instance_id}"
    stale: list[str] = [number for number, pid in owned.items() if not pid]
    lock = threading.Lock()
    with _writing(rt, instance_id), ThreadPoolExecutor(
        rt.settings.max_concurrency, thread_name_prefix="ccc-delete"
    ) as pool:
        op = _Operation(client, instance_id, rt.settings, pool)

        def by_id(number: str, pid: str) -> None:
            if not op.remove(number, pid):
                with lock:
                    stale.append(number)

        op.run_all([partial(by_id, n, pid) for n, pid in sorted(owned.items()) if pid])
        if stale and not op.failed:
            _unbind_by_number(op, sorted(stale))
        if op.failed:
            raise ApplyError(action, errors=op.errors, operation="delete") from op.errors[0]
    _log.info("deleted the binding of %d numbers to CCC instance %s", len(owned), instance_id)


def _unbind_by_number(op: _Operation, numbers: Sequence[str]) -> None:
    """Numbers without a valid PhoneNumberId: one listing finds the ones still bound, then remove them."""
    try:
        live = _index_live(op.client.list_numbers(op.instance_id), {})
    except NotFoundError:
        return  # the instance is gone, and every binding in it
    except CccError as err:
        op.errors.append(err)
        return
    targets = [(number, live[number].phone_number_id) for number in numbers if number in live]
    op.run_all([partial(_discard, op.remove, number, pid) for number, pid in targets])


def _discard(call: Callable[[str, str], object], number: str, pid: str) -> None:
    call(number, pid)
