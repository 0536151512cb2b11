"""The plan: which numbers to unbind, bind (in batches) and modify to reach the desired bindings.

Owns the plan values (`Remove`, `AddBatch`, `Modify`, `Plan`), `compute_plan`, `find_conflicts` and
the batching rule (`Limits`, `rebatch`, `reduced_batch_size`): numbers are bound in batches of
identical settings, each batch at most `batch_size` numbers, as few batches as possible, also after
the executor re-batches to a smaller size. The order of every collection is declared here once:
removes by number; batches by settings, then first number; modifies by number. The executor runs
removes, then batches, then modifies.

Must not do I/O, read the clock, use randomness, or use the API's wire names; the executor turns a
plan into calls and never re-batches on its own (it asks `rebatch` after a too-large refusal).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .errors import plural
from .models import Settings

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "AddBatch",
    "Limits",
    "LiveNumber",
    "Modify",
    "Plan",
    "Remove",
    "compute_plan",
    "find_conflicts",
    "rebatch",
    "reduced_batch_size",
]

#: Numbers per bind call unless configured: the service's cap is undocumented, and 100 is safe.
DEFAULT_BATCH_SIZE: Final = 100


@dataclass(frozen=True, slots=True)
class LiveNumber:
    """A number bound in the instance now, as listed."""

    number: str
    phone_number_id: str
    settings: Settings


@dataclass(frozen=True, slots=True)
class Remove:
    """Unbind one owned number the binding no longer declares."""

    number: str
    phone_number_id: str


@dataclass(frozen=True, slots=True)
class AddBatch:
    """Bind these numbers (sorted, at most the batch size) with the same settings, in one call."""

    settings: Settings
    numbers: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.numbers:
            raise ValueError("a batch binds at least one number")


@dataclass(frozen=True, slots=True)
class Modify:
    """Change the settings of one bound number to `settings`."""

    number: str
    phone_number_id: str
    settings: Settings


def _check_batch_size(batch_size: object) -> None:
    # bool is an int subclass; True as a batch size is a mistake, not 1.
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"the batch size must be a whole number of at least 1, not {batch_size!r}")


@dataclass(frozen=True, slots=True)
class Limits:
    """How the plan may group numbers: at most `batch_size` numbers per bind call."""

    batch_size: int = DEFAULT_BATCH_SIZE

    def __post_init__(self) -> None:
        _check_batch_size(self.batch_size)


@dataclass(frozen=True, slots=True)
class Plan:
    """The changes for one binding, each collection in its declared order."""

    removes: tuple[Remove, ...] = ()
    add_batches: tuple[AddBatch, ...] = ()
    modifies: tuple[Modify, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing needs to change."""
        return not (self.removes or self.add_batches or self.modifies)

    @property
    def write_calls(self) -> int:
        """How many write calls the plan takes: one per remove, batch and modify."""
        return len(self.removes) + len(self.add_batches) + len(self.modifies)

    @property
    def added_numbers(self) -> tuple[str, ...]:
        """Every number the batches bind, in batch order."""
        return tuple(number for batch in self.add_batches for number in batch.numbers)

    @property
    def summary(self) -> str:
        """A short description for messages and logs, e.g. ``remove 5, add 10 in 1 batch, modify 3``."""
        if self.is_empty:
            return "no changes"
        parts = []
        if self.removes:
            parts.append(f"remove {len(self.removes)}")
        if self.add_batches:
            added = sum(len(batch.numbers) for batch in self.add_batches)
            parts.append(f"add {added} in {plural(len(self.add_batches), 'batch', 'batches')}")
        if self.modifies:
            parts.append(f"modify {len(self.modifies)}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self.summary


def _chunks(settings: Settings, numbers: list[str], batch_size: int) -> Iterable[AddBatch]:
    for start in range(0, len(numbers), batch_size):
        yield AddBatch(settings, tuple(numbers[start : start + batch_size]))


def compute_plan(
    live: Mapping[str, LiveNumber],
    desired: Mapping[str, Settings],
    owned: Collection[str],
    limits: Limits = Limits(),  # a frozen value, safe to share as a default
) -> Plan:
    """The changes that make the instance's bindings of `owned` ∪ `desired` numbers match `desired`.

    `live` is every binding in the instance, keyed by number. Owned numbers that are no longer desired
    are unbound; desired numbers not bound are bound, grouped by settings into the fewest batches;
    bound desired numbers with other settings are modified. Live numbers neither owned nor desired
    are never touched. A desired number bound but not owned is modified like an owned one: call
    `find_conflicts` first to refuse or adopt it.
    """
    removes = tuple(
        Remove(number, live[number].phone_number_id)
        for number in sorted(owned)
        if number not in desired and number in live
    )
    groups: dict[Settings, list[str]] = {}
    modifies: list[Modify] = []
    for number, settings in desired.items():
        current = live.get(number)
        if current is None:
            groups.setdefault(settings, []).append(number)
        elif current.settings != settings:
            modifies.append(Modify(number, current.phone_number_id, settings))
    batches: list[AddBatch] = []
    for settings in sorted(groups, key=lambda s: s.sort_key):
        batches.extend(_chunks(settings, sorted(groups[settings]), limits.batch_size))
    modifies.sort(key=lambda m: m.number)
    return Plan(removes=removes, add_batches=tuple(batches), modifies=tuple(modifies))


def find_conflicts(
    live: Mapping[str, LiveNumber], desired: Mapping[str, Settings], owned: Collection[str]
) -> tuple[LiveNumber, ...]:
    """Desired numbers already bound in the instance but not owned, by number (refuse or adopt them)."""
    return tuple(live[number] for number in sorted(desired) if number in live and number not in owned)


def rebatch(batches: Iterable[AddBatch], batch_size: int) -> tuple[AddBatch, ...]:
    """The same numbers in the same order, in the fewest batches of at most `batch_size`.

    Adjacent batches with equal settings are joined before splitting, so re-batching a plan gives
    the batches that planning with `batch_size` would have given.
    """
    _check_batch_size(batch_size)
    result: list[AddBatch] = []
    run: list[str] = []
    run_settings: Settings | None = None
    for batch in batches:
        if batch.settings != run_settings:
            if run_settings is not None:
                result.extend(_chunks(run_settings, run, batch_size))
            run, run_settings = [], batch.settings
        run.extend(batch.numbers)
    if run_settings is not None:
        result.extend(_chunks(run_settings, run, batch_size))
    return tuple(result)


def reduced_batch_size(current: int, service_cap: int | None = None) -> int:
    """The batch size to keep after the service refused a batch of `current` numbers as too large.

    The cap the service named when it is smaller, else half the current size (rounded up); 1 stays 1,
    so a caller that gets back `current` knows the refusal was not about size.
    """
    if service_cap is not None and 1 <= service_cap < current:
        return service_cap
    return max(1, (current + 1) // 2)
