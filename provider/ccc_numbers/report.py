"""What the Pulumi CLI shows when a hook fails: our errors as a short text, the reason first.

The Python dynamic-provider host hands the engine ``traceback.format_exc()`` of whatever a hook
raises, and the CLI prints that text under the resource. :func:`render` gives, for this package's
errors, the text to print instead (``host.py`` puts it in the host's path): the reason on the
first line, then what was being done, what the failure left behind and what to do, each said
once, at most :data:`MAX_LINES` lines however many numbers failed. Lists are cut to their first
:data:`SHOWN` numbers per reason, with counts; the full list goes to a file whose path the text
names (``.ccc-numbers/failures/`` under the project folder, the host's working directory).

Owns that wording and the overflow files. Must not decide anything about the failure itself (the
error values in ``errors.py`` carry what happened) or print: it returns text.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import (
    ApplyError,
    CccError,
    ConfigurationError,
    OwnershipError,
    PartialFailureError,
    plural,
)

__all__ = ["FAILURES_DIR", "MAX_LINES", "SHOWN", "render"]

#: The most lines a rendered error takes, whatever failed.
MAX_LINES = 25
#: How many numbers each reason shows before "and N more".
SHOWN = 5
#: Where full lists of numbers go when a text shows only the first few, relative to the project folder.
FAILURES_DIR = Path(".ccc-numbers") / "failures"
#: At most this many reasons get a line of their own; the rest are counted together.
_MAX_GROUPS = 8


def render(error: BaseException) -> str | None:
    """The text the CLI shows for one of our errors; None for anything else (a bug keeps its traceback)."""
    if isinstance(error, ConfigurationError):
        return str(error)
    if not isinstance(error, CccError):
        return None
    lines = _apply(error) if isinstance(error, ApplyError) else _failure(error, context=True)
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], f"… {len(lines) - MAX_LINES + 1} more lines left out"]
    return "\n".join(lines)


# --- The parts -------------------------------------------------------------------------------------


def _apply(error: ApplyError) -> list[str]:
    causes = [e for e in error.errors if isinstance(e, CccError)]
    others = [e for e in error.errors if not isinstance(e, CccError)]
    lines: list[str] = []
    advice: list[str] = []
    if len(causes) == 1 and not others:
        cause = causes[0]
        reason, advice = _parts(cause)
        lines.extend(reason)
        # Rejections and refusals are about the whole operation; an API error names its step.
        whole = isinstance(cause, (PartialFailureError, OwnershipError))
        lines.append(f"while {error.action if whole else _context(error.action, cause.action)}")
    else:
        lines.append(f"{plural(len(error.errors), 'problem')} while {error.action}:")
        for index, failure in enumerate(error.errors, 1):
            if isinstance(failure, CccError):
                (first, *rest), hints = _parts(failure)
                lines.append(f"  {index}. {first} (while {failure.action})")
                lines.extend(f"     {line}" for line in rest)
                advice.extend(hint for hint in hints if hint not in advice)
            else:
                lines.append(f"  {index}. {type(failure).__name__}: {failure}")
    operation = _operation(error.action)
    if error.rolled_back:
        count = len(error.rolled_back)
        what = "the phone number" if count == 1 else f"the {count} phone numbers"
        lines.append(
            f"{what} this {operation} had bound {'was' if count == 1 else 'were'} unbound again, "
            "so a rerun starts clean"
        )
    if error.left_bound:
        count = len(error.left_bound)
        lines.append(
            f"{plural(count, 'phone number')} this {operation} bound could not be unbound again and "
            f"{'stays' if count == 1 else 'stay'} bound outside this binding:"
        )
        lines.extend(_grouped(_by_reason(error.left_bound), "left bound"))
        advice.append("to keep them, set adopt_existing=True on this binding for the next `pulumi up`")
    return lines + advice


def _failure(error: CccError, *, context: bool) -> list[str]:
    """One failure: its reason first, then (with `context`) what was being done, then what to do."""
    reason, advice = _parts(error)
    return [*reason, *([f"while {error.action}"] if context else []), *advice]


def _parts(error: CccError) -> tuple[list[str], list[str]]:
    """(the reason, as lines; what the user can do, as lines)."""
    advice = [error.hint] if error.hint else []
    if isinstance(error, PartialFailureError):
        total = len(error.bound) + len(error.rejected)
        lines = [f"{len(error.rejected)} of {plural(total, 'phone number')} were not bound:"]
        lines.extend(_grouped(_by_reason(error.rejected), "not bound"))
        return lines, advice
    if isinstance(error, OwnershipError):
        return _ownership(error), [*_ownership_advice(error), *advice]
    return [_reason(error)], advice


def _ownership(error: OwnershipError) -> list[str]:
    count = len(error.conflicts)
    shown = [f"{number} (PhoneNumberId {pid})" for number, pid in error.conflicts.items()]
    listed = _cut(shown, error.conflicts, "not owned")
    return [
        f"{plural(count, 'phone number')} {'is' if count == 1 else 'are'} already bound in CCC instance "
        f"{_instance(error.action)} but not owned by this binding: {listed}",
    ]


def _ownership_advice(error: OwnershipError) -> list[str]:
    """What to do, per kind of conflict: a move in progress, an interrupted run's leftovers, the rest."""
    advice: list[str] = []
    moved = sorted(error.released)
    if moved:
        advice.append(
            f"{_some(moved, error.conflicts)} belonged to another binding of this stack, which gives "
            f"{_them(moved)} up in this same run: run `pulumi up` again to finish the move, or make this "
            "binding depend on that one (depends_on) to move numbers in one run"
        )
    leftovers = sorted(error.declared_settings - error.released)
    if leftovers:
        one = len(leftovers) == 1
        advice.append(
            f"{_some(leftovers, error.conflicts)} already {'carries' if one else 'carry'} "
            f"exactly the settings this binding declares: {'it looks' if one else 'they look'} "
            "like a previous interrupted run of this binding (README, \"If a run was interrupted\"); set "
            f"adopt_existing=True on this binding for one `pulumi up` to take {_them(leftovers)} over"
        )
    others = [n for n in error.conflicts if n not in error.released and n not in error.declared_settings]
    if others:
        advice.append(
            f"set adopt_existing=True on this binding to take {_them(others)} over, or remove "
            f"{_them(others)} from numbers"
        )
    return advice


def _some(numbers: Sequence[str], everything: Mapping[str, str]) -> str:
    """``02160660001`` / ``all 3 of these`` / ``12 of these (0216…, …)``, for advice lines."""
    if len(numbers) == len(everything):
        return "it" if len(numbers) == 1 else f"all {len(numbers)} of them"
    shown = ", ".join(numbers[:SHOWN])
    more = f" and {len(numbers) - SHOWN} more" if len(numbers) > SHOWN else ""
    return f"{shown}{more}"


def _them(numbers: Sequence[str]) -> str:
    return "it" if len(numbers) == 1 else "them"


def _reason(error: CccError) -> str:
    return f"{error.reason} ({error.detail})" if error.detail else error.reason


def _by_reason(rejected: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for number, reason in sorted(rejected.items()):
        groups.setdefault(reason, []).append(number)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def _grouped(groups: Mapping[str, Sequence[str]], what: str) -> list[str]:
    lines: list[str] = []
    everything = {number: reason for reason, numbers in groups.items() for number in numbers}
    items = list(groups.items())
    for reason, numbers in items[:_MAX_GROUPS]:
        lines.append(f"  {reason} ({len(numbers)}): {_cut(numbers, everything, what)}")
    rest = items[_MAX_GROUPS:]
    if rest:
        count = sum(len(numbers) for _, numbers in rest)
        listed = _cut([], everything, what)
        lines.append(f"  {plural(count, 'more number')} for {len(rest)} other reasons: {listed}")
    return lines


def _cut(shown: Sequence[str], everything: Mapping[str, str], what: str) -> str:
    """The first SHOWN items, and where the rest are when there are more."""
    head = ", ".join(shown[:SHOWN])
    if len(shown) <= SHOWN and (shown or not everything):
        return head
    more = len(shown) - SHOWN if shown else len(everything)
    where = _write_full_list(everything, what)
    tail = f"and {more} more" if shown else f"{more} numbers"
    located = f" (all {len(everything)}: {where})" if where else ""
    return f"{head} {tail}{located}" if head else f"{tail}{located}"


def _write_full_list(entries: Mapping[str, str], what: str) -> str | None:
    """Write every number with its reason to a file under FAILURES_DIR; its path, or None if it failed."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = FAILURES_DIR / f"{stamp}-{what.replace(' ', '-')}-{len(entries)}.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{number}\t{reason}\n" for number, reason in sorted(entries.items())))
    except OSError:
        return None
    return str(path)


def _context(outer: str, inner: str) -> str:
    """The outer action, with the step that failed in brackets when it says more (``batch 2/3``)."""
    if not inner or inner == outer:
        return outer
    instance = _instance(outer)
    for joint in (" to", " from", " in", " of"):
        inner = inner.replace(f"{joint} CCC instance {instance}", "")
    return f"{outer} ({inner})"


def _operation(action: str) -> str:
    word = action.split(" ", 1)[0]
    return {"creating": "create", "updating": "update", "deleting": "delete"}.get(word, "operation")


def _instance(action: str) -> str:
    marker = "CCC instance "
    index = action.find(marker)
    return action[index + len(marker) :].split(",", 1)[0].split(" ", 1)[0] if index >= 0 else "?"
