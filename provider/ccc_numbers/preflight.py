"""The preflight of a create or update: the contact flows and skill groups it writes must exist.

A mistyped flow or skill group id would otherwise fail in the middle of an ``up``, after other
batches were bound (and then unbound again by the rollback). Before any write, the executor asks
here: :func:`start` fetches the instance's contact flows (ListContactFlows) and skill groups
(ListSkillGroups), concurrently with the executor's own listing and only for the kinds the
binding refers to, each once per instance and provider process (``listing.contact_flows`` /
``listing.skill_groups``); :func:`check` compares the ids that the plan's adds and modifies carry
with them and raises :class:`ccc_numbers.errors.MissingReferenceError` naming each missing id,
the numbers that use it, and what the instance does have.

Must not decide what to write (``plan.py``) or touch the wire (``client.py``); it makes no call in
check, diff or a preview: only create and update reach it, through the executor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from . import listing
from .client import CccClient, ContactFlow, SkillGroup
from .errors import MissingReferenceError
from .listing import ListingKey
from .models import Settings

__all__ = ["Catalog", "References", "check", "references", "start"]


@dataclass(frozen=True)
class References:
    """Which numbers refer to each contact flow and skill group id (ids and numbers sorted)."""

    flows: Mapping[str, tuple[str, ...]]
    groups: Mapping[str, tuple[str, ...]]

    def __bool__(self) -> bool:
        return bool(self.flows or self.groups)

    def only(self, numbers: Iterable[str]) -> References:
        """The references of these numbers alone (the ones a plan writes)."""
        keep = set(numbers)
        return References(_restrict(self.flows, keep), _restrict(self.groups, keep))


def _restrict(refs: Mapping[str, tuple[str, ...]], keep: set[str]) -> dict[str, tuple[str, ...]]:
    kept = {ref: tuple(n for n in numbers if n in keep) for ref, numbers in refs.items()}
    return {ref: numbers for ref, numbers in kept.items() if numbers}


def references(settings: Mapping[str, Settings]) -> References:
    """The contact flow and skill group ids that ``{number: settings}`` refer to."""
    flows: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    for number, wanted in settings.items():
        if wanted.contact_flow_id:
            flows.setdefault(wanted.contact_flow_id, []).append(number)
        for group in wanted.skill_group_ids:
            groups.setdefault(group, []).append(number)
    return References(
        {ref: tuple(sorted(numbers)) for ref, numbers in sorted(flows.items())},
        {ref: tuple(sorted(numbers)) for ref, numbers in sorted(groups.items())},
    )


@dataclass(frozen=True)
class Catalog:
    """What the instance has; None for a kind that was not fetched (nothing referred to it)."""

    flows: Future[tuple[ContactFlow, ...]] | None
    groups: Future[tuple[SkillGroup, ...]] | None


def start(pool: ThreadPoolExecutor, client: CccClient, key: ListingKey, refs: References) -> Catalog:
    """Begin fetching the kinds ``refs`` names, on ``pool``, through the process's shared listings."""
    instance_id = key[2]
    flows = (
        pool.submit(listing.contact_flows.get, key, partial(client.list_contact_flows, instance_id))
        if refs.flows
        else None
    )
    groups = (
        pool.submit(listing.skill_groups.get, key, partial(client.list_skill_groups, instance_id))
        if refs.groups
        else None
    )
    return Catalog(flows, groups)


def check(action: str, refs: References, catalog: Catalog) -> None:
    """Raise :class:`MissingReferenceError` if a referenced flow or skill group is not in ``catalog``.

    Waits for the fetches ``refs`` needs; their API errors propagate as they are.
    """
    if not refs:
        return
    flows: dict[str, str] = {}
    groups: dict[str, str] = {}
    if catalog.flows is not None and refs.flows:
        flows = {flow.contact_flow_id: flow.name for flow in catalog.flows.result()}
    if catalog.groups is not None and refs.groups:
        groups = {group.skill_group_id: group.name for group in catalog.groups.result()}
    missing_flows = {ref: numbers for ref, numbers in refs.flows.items() if ref not in flows}
    missing_groups = {ref: numbers for ref, numbers in refs.groups.items() if ref not in groups}
    if missing_flows or missing_groups:
        raise MissingReferenceError(
            action, missing_flows=missing_flows, missing_groups=missing_groups, flows=flows, groups=groups
        )
