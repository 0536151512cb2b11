"""Carries out a binding's changes with the CCC API: list once, plan, then calls in a fixed order.

Owns, for one operation (create, update, read, delete):

* the order of calls: one ListPhoneNumbers (with, for create and update, the preflight's
  ListContactFlows / ListSkillGroups beside it), then removes, then AddBulkPhoneNumbers batches,
  then ModifyPhoneNumber calls; each phase waits for the previous one, and nothing is written
  before the preflight (``preflight.py``) has found every contact flow and skill group the writes
  refer to, and the instance itself;
* bounded concurrency: one ``ThreadPoolExecutor`` per operation with ``max_concurrency`` workers (the
  client's process-wide rate limit paces them);
* partial-failure accounting: which numbers this operation bound, every rejected number with its
  reason in words, and the rollback (unbinding what this operation bound) when it fails;
* reconciliation: an add whose outcome is unknown is followed by a listing, and only the numbers
  still missing are sent again, so a number is never added twice (one method decides it,
  ``_Operation._after_lost_answer``);
* unbinding that converges (delete, the removes of an update, the rollback): only numbers the
  listing shows bound are removed; a remove answered "not found" counts as done only once a
  listing confirms the number unbound, and a remove that ran out of retries is tried again after
  that listing, for at most ``REMOVE_ROUNDS`` rounds, so a rerun does only what is left;
* a batch the service refuses as too large is split with ``plan.rebatch`` to the size
  ``plan.reduced_batch_size`` names, and that smaller size holds for the rest of the operation; a
  batch refused with another parameter error is split once and sent again, and refused again it
  fails with both answers (``SplitRefusedError``);
* the context in error messages (``batch 2/3``, the phone number behind a PhoneNumberId), and
  which refused numbers another binding of this run gives up (``handover.py``) or already carry
  the declared settings, so that the refusal gives the right advice;
* interrupted runs: before its first add an operation records what it is about to bind, and a
  declared number bound but not owned is taken over when such a record of a run that is gone
  lists it with the settings it still has (``intents.py``);
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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from . import handover, intents, preflight
from .client import AddBulkOutcome, BoundNumber, CccClient
from .config import ProviderSettings, RuntimeConfig, current
from .errors import (
    ApiError,
    ApplyError,
    BatchTooLargeError,
    CccError,
    InvalidParameterError,
    NotFoundError,
    OwnershipError,
    PartialFailureError,
    SplitRefusedError,
    ThrottledError,
    TransportError,
    UnknownInstanceError,
    plural,
)
from .listing import ListingKey
from .listing import shared as _listings
from .models import BindingSpec, Settings
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
    "REMOVE_ROUNDS",
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
#: Rounds of removes in one unbinding: each after the first removes what a fresh listing still
#: shows bound (throttled past the retry budget, or "not found" though still listed). Three rounds
#: at 30% throttling leave a number bound with odds of 0.3^18 at the default six attempts a call.
REMOVE_ROUNDS = 3
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


@dataclass
class _Unbinding:
    """What an unbinding achieved: numbers now unbound, and the ones left bound with the last error."""

    done: list[str] = field(default_factory=list)
    left: dict[str, Exception] = field(default_factory=dict)
    #: The error that stopped it early (the API refused a remove, or the listing failed).
    fatal: Exception | None = None


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A parameter refusal of a whole chunk, kept for the error if the parts it was split into fail too."""

    error: InvalidParameterError
    size: int


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
        #: A smaller call was accepted after a parameter refusal: the refusals were about size.
        self.size_confirmed = False
        #: Numbers this operation bound, with what the API reported.
        self.added: dict[str, BoundNumber] = {}
        #: Numbers sent in an add whose outcome is unknown and could not be reconciled.
        self.uncertain: dict[str, None] = {}
        self.modified: dict[str, BoundNumber] = {}
        self.used: list[str] = []
        self.rejected: dict[str, str] = {}
        #: Numbers sent again after a lost answer, with their settings: a late-applied first add makes
        #: the resend answer "used", and then the number is still this operation's own.
        self.resent: dict[str, Settings] = {}

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

    def unbind(self, targets: Mapping[str, str], *, stop_on_error: bool) -> _Unbinding:
        """Unbind ``{number: PhoneNumberId}``, checking doubtful outcomes against a fresh listing.

        A round removes every target concurrently. A remove answered "not found", or still throttled
        (or unanswered) when its retries ran out, is doubtful: one listing after the round tells
        which of them are still bound, and those (with the id the listing shows) make the next
        round, up to ``REMOVE_ROUNDS``. Any other refusal is fatal: with ``stop_on_error`` it stops
        the removes not yet started (delete, update); without, the others still run (rollback).
        """
        result = _Unbinding()
        pending = dict(targets)
        left: dict[str, Exception] = {}
        for _ in range(REMOVE_ROUNDS):
            not_found, retryable, fatal = self._remove_round(pending, result, stop_on_error=stop_on_error)
            if fatal:
                result.fatal = next(iter(fatal.values()))
                result.left = fatal
                return result
            doubtful = {**not_found, **retryable}
            if not doubtful:
                return result
            known = {number: pending[number] for number in doubtful}
            try:
                live = _index_live(self.client.list_numbers(self.instance_id), known)
            except NotFoundError:
                result.done.extend(doubtful)  # the instance is gone, and every binding in it
                return result
            except CccError as err:
                err.annotate("listing the instance to confirm which numbers are still bound")
                result.fatal = err
                result.left = dict.fromkeys(doubtful, err)
                return result
            result.done.extend(number for number in doubtful if number not in live)
            pending = {number: live[number].phone_number_id for number in doubtful if number in live}
            left = {number: doubtful[number] for number in pending}
            if not pending:
                return result
            _log.info(
                "CCC instance %s still lists %d of the numbers being unbound; removing them again",
                self.instance_id, len(pending),
            )
        for number, last in left.items():
            if isinstance(last, NotFoundError):
                left[number] = CccError(
                    f"removing phone number {number} (PhoneNumberId {pending[number]}) from CCC "
                    f"instance {self.instance_id}",
                    f"RemovePhoneNumber answered {last.code} ({last.message}) in each of {REMOVE_ROUNDS} "
                    "rounds, but the instance still lists the number as bound",
                    request_id=last.request_id,
                )
        result.left = left
        return result

    def _remove_round(
        self, targets: Mapping[str, str], result: _Unbinding, *, stop_on_error: bool
    ) -> tuple[dict[str, NotFoundError], dict[str, CccError], dict[str, Exception]]:
        """One concurrent round of removes: (not found, retries ran out, fatal), each by number."""
        not_found: dict[str, NotFoundError] = {}
        retryable: dict[str, CccError] = {}
        fatal: dict[str, Exception] = {}
        stop = threading.Event()
        lock = threading.Lock()

        def one(number: str, pid: str) -> None:
            if stop.is_set():
                return
            try:
                self.client.remove(self.instance_id, pid)
            except NotFoundError as err:
                _log.debug("phone number %s (%s): %s; a listing will tell", number, pid, err.code)
                with lock:
                    not_found[number] = err
                return
            except (ThrottledError, TransportError) as err:
                err.annotate(f"phone number {number}")
                with lock:
                    retryable[number] = err
                return
            except Exception as err:  # the API refused it, or a bug: fatal either way
                if isinstance(err, CccError):
                    err.annotate(f"phone number {number}")
                with lock:
                    fatal[number] = err
                if stop_on_error:
                    stop.set()
                return
            with lock:
                result.done.append(number)

        for future in [self.pool.submit(one, n, pid) for n, pid in sorted(targets.items())]:
            future.result()
        return not_found, retryable, fatal

    def remove_all(self, removes: Sequence[Remove]) -> None:
        if not removes:
            return
        outcome = self.unbind({r.number: r.phone_number_id for r in removes}, stop_on_error=True)
        if outcome.fatal is not None:
            self.errors.append(outcome.fatal)
        elif outcome.left:
            self.errors.extend(_distinct(outcome.left.values()))

    # -- adds --------------------------------------------------------------------------------
    #
    # A planned batch goes out in chunks of the batch size this operation has learnt so far, and
    # each chunk is sent until every number in it is bound or refused (_send). Each kind of answer
    # has its own step: accepted (_record), refused as too large (_after_too_large), refused over
    # its parameters (_after_refusal), or lost on the way (_after_lost_answer: the one place that
    # decides what is sent again after an add that may have been applied).

    def add_all(self, batches: Sequence[AddBatch]) -> None:
        """Send every batch on the pool, then report the rejected numbers as one failure."""
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
        """One planned batch, in chunks of the batch size this operation has learnt so far."""
        for chunk in rebatch([batch], self._batch_size()):
            if self._stop.is_set():
                return
            self._send(chunk, label)

    def _send(self, chunk: AddBatch, label: str, split_from: _Refusal | None = None) -> None:
        """Bind `chunk`, one AddBulkPhoneNumbers call a turn, until each number is bound or refused.

        `split_from` is the parameter refusal of the larger chunk this one was split from.
        """
        lost = 0  # answers lost so far for this chunk's numbers
        while not self._stop.is_set():
            size = self._batch_size()
            if len(chunk.numbers) > size:
                # The size shrank since this chunk was cut: its own refusal, or another batch's
                # while this one waited.
                for part in rebatch([chunk], size):
                    self._send(part, label, split_from)
                return
            try:
                outcome = self.client.add_bulk(self.instance_id, chunk.numbers, chunk.settings)
            except BatchTooLargeError as err:
                self._after_too_large(chunk, label, err)
            except InvalidParameterError as err:
                chunk, split_from = self._after_refusal(chunk, label, split_from, err)
            except CccError as err:
                if not err.outcome_unknown:
                    err.annotate(label)
                    raise
                lost += 1
                resend = self._after_lost_answer(chunk, label, err, lost)
                if resend is None:
                    return
                chunk = resend
            else:
                self._record(chunk, outcome, label, after_split=split_from is not None)
                return

    def _after_too_large(self, chunk: AddBatch, label: str, err: BatchTooLargeError) -> None:
        """`chunk` was refused as too large (nothing bound): a smaller batch size from now on, or raise.

        The next turn of :meth:`_send` splits the chunk to that size; one number cannot be split.
        """
        smaller = reduced_batch_size(len(chunk.numbers), err.maximum)
        if smaller >= len(chunk.numbers):
            err.annotate(label)
            raise err
        self._shrink(smaller, err)

    def _after_refusal(
        self, chunk: AddBatch, label: str, split_from: _Refusal | None, err: InvalidParameterError
    ) -> tuple[AddBatch, _Refusal]:
        """A parameter refusal of `chunk` (nothing bound): what to send next and the first refusal, or raise.

        The service's cap and the code it refuses a larger batch with are undocumented, so a
        parameter refusal of several numbers may be about their count: the batch is split once. If
        the smaller batch is refused too and no smaller call has been accepted yet, one number alone
        tells a size limit (accepted: keep splitting) from a bad parameter (refused: fail with both
        answers).
        """
        size = len(chunk.numbers)
        if split_from is None:
            if size == 1:
                err.annotate(label)
                raise err
            self._shrink(reduced_batch_size(size), err)
            return chunk, _Refusal(err, size)
        if size == 1:
            raise SplitRefusedError(
                f"{err.action}, {label}",
                first=split_from.error, first_size=split_from.size, retry=err, retry_size=1,
            ) from err
        if not self._size_confirmed():
            # One number alone: accepted, the refusals were about size (keep splitting); refused,
            # it raises SplitRefusedError with both answers.
            self._send(AddBatch(chunk.settings, chunk.numbers[:1]), label, split_from)
            chunk = AddBatch(chunk.settings, chunk.numbers[1:])
        self._shrink(reduced_batch_size(size), err)
        return chunk, split_from

    def _after_lost_answer(self, chunk: AddBatch, label: str, err: CccError, lost: int) -> AddBatch | None:
        """After an add of `chunk` whose answer was lost: the numbers to send again, or None for none.

        The one place for the rule that a number is never added twice. A lost answer (timeout,
        reset, 5xx: ``outcome_unknown``) may hide an applied add, so the call is never repeated as
        it was: a listing tells which numbers are bound now (:meth:`_settle` records them as added)
        and only the others are sent again, until `lost`, the answers lost for this chunk, reaches
        the retry policy's ``max_attempts``. When that listing fails, the error says so and the
        numbers stay uncertain: the rollback settles them with a listing of its own.
        """
        try:
            missing = self._settle(chunk.numbers)
        except CccError as list_err:
            err.annotate(f"{label}; listing the instance to learn whether it was applied failed ({list_err})")
            raise err from list_err
        _log.info(
            "adding %d numbers to CCC instance %s, %s: outcome unknown (%s); the listing shows %d bound, "
            "re-adding the other %d",
            len(chunk.numbers), self.instance_id, label, err.reason, len(chunk.numbers) - len(missing),
            len(missing),
        )
        if not missing:
            return None
        if lost >= self.settings.retry.max_attempts:
            err.annotate(f"{label}, {plural(len(missing), 'number')} still not bound after "
                         f"{plural(lost, 'attempt')}")
            raise err
        with self._lock:
            self.resent.update(dict.fromkeys(missing, chunk.settings))
        return AddBatch(chunk.settings, missing)

    def _settle(self, numbers: Sequence[str]) -> tuple[str, ...]:
        """Numbers whose add may have been applied, settled by one listing: the ones still unbound.

        The ones it shows bound were bound by this operation's lost add: recorded as added, so that a
        rollback unbinds them. Until the listing answers the numbers are uncertain; when it fails,
        its error propagates and they stay so.
        """
        with self._lock:
            self.uncertain.update(dict.fromkeys(numbers))
        live = _index_live(self.client.list_numbers(self.instance_id), {})
        with self._lock:
            for number in numbers:
                self.uncertain.pop(number, None)
                if number in live:
                    self.added[number] = live[number]
        return tuple(number for number in numbers if number not in live)

    def _record(self, chunk: AddBatch, outcome: AddBulkOutcome, label: str, *, after_split: bool) -> None:
        """An accepted call: its bound numbers are this operation's, the others rejected with a reason."""
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
            if after_split:
                # A smaller call was accepted after a parameter refusal: the refusals were about size.
                self.size_confirmed = True
        _log.debug(
            "adding %d numbers to CCC instance %s, %s: %d bound, %d refused",
            len(chunk.numbers), self.instance_id, label, len(bound), len(chunk.numbers) - len(bound),
        )

    def _batch_size(self) -> int:
        with self._lock:
            return self.batch_size

    def _size_confirmed(self) -> bool:
        with self._lock:
            return self.size_confirmed

    def _shrink(self, smaller: int, err: ApiError) -> None:
        """Send at most `smaller` numbers per call from now on in this operation."""
        with self._lock:
            self.batch_size = min(self.batch_size, smaller)
            size = self.batch_size
        _log.info(
            "CCC instance %s refused a batch (%s); sending at most %d numbers per call",
            self.instance_id, err.reason, size,
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
            if here is not None and self.resent.get(number) == here.settings:
                # Sent again after a lost answer and found bound here as sent: the first add was
                # applied after the listing that missed it. Ours, so a rollback unbinds it.
                self.added[number] = here
                continue
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
        left: dict[str, str] = {}
        unsure = [number for number in self.uncertain if number not in self.added]
        if unsure:
            # Adds whose answer was lost and whose listing failed: the ones bound now are ours.
            try:
                self._settle(unsure)
            except CccError as err:
                why = f"its add had an unknown outcome and listing the instance failed ({err})"
                left.update(dict.fromkeys(unsure, why))
        targets = {number: b.phone_number_id for number, b in self.added.items()}
        outcome = self.unbind(targets, stop_on_error=False) if targets else _Unbinding()
        for number, last in outcome.left.items():
            left[number] = f"PhoneNumberId {targets[number]}: {last}"
        undone = sorted(n for n in outcome.done if n not in left)
        if undone or left:
            _log.info(
                "rolled back in CCC instance %s: %d numbers unbound again, %d could not be",
                self.instance_id, len(undone), len(left),
            )
        return undone, left


def _distinct(errors: Iterable[Exception]) -> list[Exception]:
    """The errors, one per distinct message (a hundred identical throttling refusals read as one)."""
    seen: dict[str, Exception] = {}
    for err in errors:
        seen.setdefault(str(err), err)
    return list(seen.values())


# ------------------------------------------------------------------------------------------------
# Operations


def _runtime(runtime: RuntimeConfig | None) -> RuntimeConfig:
    return runtime if runtime is not None else current()


def _listing_key(rt: RuntimeConfig, client: CccClient, instance_id: str) -> ListingKey:
    key_id = rt.credentials.access_key_id if rt.credentials is not None else ""
    return (client.endpoint.url, key_id, instance_id)


@contextmanager
def _writing(key: ListingKey) -> Iterator[None]:
    """Around every write to an instance: shared listings from before (or during) it stop counting."""
    _listings.note_write(key)
    try:
        yield
    finally:
        _listings.note_write(key)


def _where(rt: RuntimeConfig, client: CccClient) -> str:
    key = rt.credentials
    who = (
        f"the AccessKey {key.access_key_id} from {key.source}" if key is not None
        else "the default credential chain's AccessKey"
    )
    return f"at {client.endpoint.url} for {who}"


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
    Returns every desired number as bound now. Before any write it raises
    :class:`UnknownInstanceError` for an instance that does not exist, :class:`MissingReferenceError`
    when the writes refer to a contact flow or skill group the instance lacks, and
    :class:`OwnershipError` for a number already bound but not owned unless ``spec.adopt_existing``.
    On a failure after writes began, unbinds what this call bound (best effort) and raises
    :class:`ApplyError`.
    """
    rt = _runtime(runtime)
    settings = rt.settings
    client = CccClient(rt)
    instance_id = spec.instance_id
    action = (
        f"{'creating' if operation == 'create' else 'updating'} the binding of "
        f"{plural(len(spec.numbers), 'phone number')} to CCC instance {instance_id}"
    )
    key = _listing_key(rt, client, instance_id)
    refs = preflight.references(spec.numbers)
    with ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="ccc-apply") as pool:
        # The preflight's reads go out with the listing: one round trip before planning, not three.
        catalog = preflight.start(pool, client, key, refs)
        try:
            listing = client.list_numbers(instance_id)
        except NotFoundError as err:
            raise UnknownInstanceError(
                action, instance_id=instance_id, where=_where(rt, client), cause=err
            ) from err
        live = _index_live(listing, owned)
        live_numbers = _live_numbers(live)
        conflicts = find_conflicts(live_numbers, spec.numbers, owned)
        # Numbers a killed run of this project bound, as it recorded them (intents.py), are ours.
        resumed, vouching = intents.resumable(
            Path.cwd(), instance_id, {c.number: c.settings for c in conflicts}
        )
        refused = [c for c in conflicts if c.number not in resumed]
        if refused and not spec.adopt_existing:
            raise OwnershipError(
                action,
                {c.number: c.phone_number_id for c in refused},
                declared_settings={c.number for c in refused if c.settings == spec.numbers[c.number]},
                released=handover.released(instance_id, [c.number for c in refused]),
            )
        if resumed:
            _log.info("taking over %d numbers an interrupted run of this binding bound", len(resumed))
        # Adopted numbers are owned from now on: compute_plan brings their settings to the desired ones.
        effective_owned: Collection[str] = set(owned) | {c.number for c in conflicts}
        plan: Plan = compute_plan(live_numbers, spec.numbers, effective_owned, Limits(settings.batch_size))
        _log.info(
            "%s of CCC instance %s: %s%s", operation, instance_id, plan.summary,
            f" (adopting {len(conflicts)})" if conflicts else "",
        )
        if not plan.is_empty:
            written = (*plan.added_numbers, *(m.number for m in plan.modifies))
            preflight.check(action, refs.only(written), catalog)
            about_to_bind = {number: spec.numbers[number] for number in plan.added_numbers}
            with _writing(key), intents.recording(Path.cwd(), instance_id, about_to_bind):
                op = _Operation(client, instance_id, settings, pool)
                _apply(op, plan, action, operation)
                live.update(op.added)
                live.update(op.modified)
        for intent in vouching:
            intent.discard()  # its numbers are this binding's now
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
        listing = _listings.get(
            _listing_key(rt, client, instance_id), partial(client.list_numbers, instance_id)
        )
    except NotFoundError:
        _log.info("CCC instance %s does not exist any more", instance_id)
        return {}
    live = _index_live(listing, owned)
    return {number: live[number] for number in sorted(owned) if number in live}


def unbind(
    instance_id: str, owned: Mapping[str, str | None], *, runtime: RuntimeConfig | None = None
) -> None:
    """Unbind every owned number that is still bound; what is gone already costs no call.

    One listing finds the owned numbers still bound (by PhoneNumberId, else by number); only those
    are removed, concurrently, at the process's request rate, with doubtful outcomes confirmed by
    another listing (:meth:`_Operation.unbind`). A rerun after a failure does only what is left.
    Never touches another number. An instance that does not exist any more has nothing bound.
    """
    rt = _runtime(runtime)
    client = CccClient(rt)
    action = f"deleting the binding of {plural(len(owned), 'phone number')} to CCC instance {instance_id}"
    try:
        listing = client.list_numbers(instance_id)
    except NotFoundError:
        _log.info("CCC instance %s does not exist any more: nothing to unbind", instance_id)
        return
    live = _index_live(listing, owned)
    targets = {number: live[number].phone_number_id for number in sorted(owned) if number in live}
    if not targets:
        _log.info("none of the %d numbers is bound in CCC instance %s any more", len(owned), instance_id)
        return
    with _writing(_listing_key(rt, client, instance_id)), ThreadPoolExecutor(
        rt.settings.max_concurrency, thread_name_prefix="ccc-delete"
    ) as pool:
        op = _Operation(client, instance_id, rt.settings, pool)
        outcome = op.unbind(targets, stop_on_error=True)
    if outcome.fatal is not None:
        raise ApplyError(action, errors=[outcome.fatal], operation="delete") from outcome.fatal
    if outcome.left:
        errors = _distinct(outcome.left.values())
        raise ApplyError(action, errors=errors, operation="delete") from errors[0]
    _log.info(
        "deleted the binding of %d numbers to CCC instance %s (%d were bound)",
        len(owned), instance_id, len(targets),
    )
