"""Test programs and what to read back: bindings a program registers, the emulator's journal, the CLI's text.

Owns the small vocabulary the real-engine tests share. Must not start the engine (harness.py does).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from ccc_emulator import Emulator, JournalEntry, demo
from ccc_numbers import PhoneNumberBinding

INSTANCE = demo.DEMO_INSTANCE_ID
INSTANCE_2 = demo.DEMO_INSTANCE_2_ID
WELCOME = demo.WELCOME_FLOW_ID
IVR = demo.IVR_FLOW_ID


def landlines(start: int, stop: int) -> list[str]:
    """Demo landline numbers with indexes start .. stop-1."""
    return [demo.landline(i) for i in range(start, stop)]


@dataclass(frozen=True)
class Binding:
    """One PhoneNumberBinding a test program registers; None fields are left out of the call."""

    name: str
    numbers: Sequence[str] | Mapping[str, Mapping[str, Any]]
    instance_id: str = INSTANCE
    contact_flow_id: str | None = WELCOME
    skill_group_ids: Sequence[str] | None = None
    usage: str | None = None
    adopt_existing: bool | None = None
    depends_on: tuple[str, ...] = field(default_factory=tuple)


def program(*bindings: Binding) -> Callable[[], None]:
    """A program registering the bindings in order and exporting each one's ``<name>_ids``."""

    def run() -> None:
        made: dict[str, PhoneNumberBinding] = {}
        for b in bindings:
            opts = (
                pulumi.ResourceOptions(depends_on=[made[n] for n in b.depends_on]) if b.depends_on else None
            )
            keywords: dict[str, Any] = {
                "contact_flow_id": b.contact_flow_id,
                "skill_group_ids": list(b.skill_group_ids) if b.skill_group_ids is not None else None,
                "usage": b.usage,
                "adopt_existing": b.adopt_existing,
            }
            numbers: Any = dict(b.numbers) if isinstance(b.numbers, Mapping) else list(b.numbers)
            made[b.name] = PhoneNumberBinding(
                b.name,
                opts=opts,
                instance_id=b.instance_id,
                numbers=numbers,
                **{k: v for k, v in keywords.items() if v is not None},
            )
            pulumi.export(f"{b.name}_ids", made[b.name].phone_number_ids)

    return run


# --- What the emulator saw ------------------------------------------------------------------------


#: The reads a create or update makes before its first write (preflight.py: do the contact flows and
#: skill groups it names exist?), in no fixed order beside its listing.
PREFLIGHT = frozenset({"ListContactFlows", "ListSkillGroups"})


def actions(emu: Emulator) -> list[str]:
    """The journal's actions in order, the preflight reads left out (``count`` has every call)."""
    return [entry.action for entry in emu.journal if entry.action not in PREFLIGHT]


def count(emu: Emulator) -> dict[str, int]:
    """Calls per action, every outcome counted."""
    counts: dict[str, int] = {}
    for entry in emu.journal:
        counts[entry.action] = counts.get(entry.action, 0) + 1
    return counts


def entries(emu: Emulator, action: str) -> list[JournalEntry]:
    return [entry for entry in emu.journal if entry.action == action]


def sent_numbers(entry: JournalEntry) -> list[str]:
    """The PhoneNumber.N values of an AddBulkPhoneNumbers request, in N order."""
    keyed = {int(k.split(".")[1]): v for k, v in entry.params.items() if k.startswith("PhoneNumber.")}
    return [keyed[i] for i in sorted(keyed)]


def bound(emu: Emulator, instance_id: str = INSTANCE) -> dict[str, dict[str, Any]]:
    """The emulator's bindings in one instance, keyed by number."""
    return {b["number"]: b for b in emu.bindings(instance_id)}


def ids_in(emu: Emulator, instance_id: str = INSTANCE) -> dict[str, str]:
    return {number: b["phone_number_id"] for number, b in bound(emu, instance_id).items()}


# --- What the CLI printed -------------------------------------------------------------------------

# A resource header in the CLI's diff display: `    ~ pulumi-python:dynamic/ccc:PhoneNumberBinding: (update)`.
_HEADER = re.compile(r"^\s*(?:[-+~]{1,2}\s+)?[\w-]+:[\w/:.-]+: \(")


def resource_block(text: str, name: str) -> list[str]:
    """The lines the CLI's ``--diff`` display prints for resource `name`, below its ``[urn=…]`` line.

    Ends before the next resource's header, ``--outputs:--`` or ``Resources:``; indentation is
    kept relative to the first line, so the nesting of the diff stays visible.
    """
    lines = text.splitlines()
    urn_end = f"::{name}]"
    start = next(
        (i for i, line in enumerate(lines) if line.strip().startswith("[urn=") and line.endswith(urn_end)),
        None,
    )
    if start is None:
        raise AssertionError(f"no resource {name!r} in the CLI's output:\n{text}")
    block: list[str] = []
    for line in lines[start + 1 :]:
        stripped = line.strip()
        if _HEADER.match(line) or stripped in ("--outputs:--", "Resources:") or not stripped:
            break
        block.append(line)
    indent = min((len(line) - len(line.lstrip()) for line in block), default=0)
    return [line[indent:].rstrip() for line in block]


def diagnostics(text: str, name: str) -> list[str]:
    """The lines the CLI prints under ``Diagnostics:`` for resource `name`, dedented."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("Diagnostics:"))
    except StopIteration:
        raise AssertionError(f"no diagnostics in the CLI's output:\n{text}") from None
    head = next(
        (i for i in range(start, len(lines)) if re.match(rf"^\s+\S+ \({re.escape(name)}\):$", lines[i])), None
    )
    if head is None:
        raise AssertionError(f"no diagnostics for {name!r} in the CLI's output:\n{text}")
    block: list[str] = []
    for line in lines[head + 1 :]:
        if not line.strip():
            break
        block.append(line)
    indent = min((len(line) - len(line.lstrip()) for line in block), default=0)
    return [line[indent:].rstrip() for line in block]
