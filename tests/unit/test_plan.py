"""Tests of ccc_numbers.plan: table cases and properties of compute_plan and the batching rule."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccc_numbers.models import Settings, Usage
from ccc_numbers.plan import (
    DEFAULT_BATCH_SIZE,
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

INBOUND = Settings(Usage.INBOUND)
OUTBOUND = Settings(Usage.OUTBOUND)
WELCOME = Settings(Usage.BIDIRECTION, "8Cvg_0mcsm6K", ("g1",))


def live_number(number: str, settings: Settings) -> LiveNumber:
    """A bound number whose id is derived from the number."""
    return LiveNumber(number, f"id-{number}", settings)


def apply(plan: Plan, live: Mapping[str, LiveNumber]) -> dict[str, LiveNumber]:
    """The instance's bindings after running the plan, as the executor would (removes, adds, modifies)."""
    after = dict(live)
    for remove in plan.removes:
        assert after[remove.number].phone_number_id == remove.phone_number_id
        del after[remove.number]
    for batch in plan.add_batches:
        for number in batch.numbers:
            assert number not in after
            after[number] = LiveNumber(number, f"new-{number}", batch.settings)
    for modify in plan.modifies:
        assert after[modify.number].phone_number_id == modify.phone_number_id
        after[modify.number] = LiveNumber(modify.number, modify.phone_number_id, modify.settings)
    return after


# --- table cases ------------------------------------------------------------------------------


def test_a_plan_with_every_kind_of_change() -> None:
    """Owned and undesired → remove; desired and unbound → batches by settings; changed → modify."""
    live = {
        "01": live_number("01", INBOUND),  # owned, no longer desired
        "02": live_number("02", INBOUND),  # owned, settings change
        "03": live_number("03", OUTBOUND),  # owned, unchanged
        "99": live_number("99", OUTBOUND),  # someone else's
    }
    desired = {"02": OUTBOUND, "03": OUTBOUND, "06": INBOUND, "05": INBOUND, "04": WELCOME, "07": INBOUND}
    plan = compute_plan(live, desired, {"01", "02", "03", "08"}, Limits(batch_size=2))
    assert plan == Plan(
        removes=(Remove("01", "id-01"),),
        add_batches=(
            AddBatch(WELCOME, ("04",)),
            AddBatch(INBOUND, ("05", "06")),
            AddBatch(INBOUND, ("07",)),
        ),
        modifies=(Modify("02", "id-02", OUTBOUND),),
    )
    assert (plan.summary, str(plan), plan.write_calls, plan.added_numbers, plan.is_empty) == (
        "remove 1, add 4 in 3 batches, modify 1",
        "remove 1, add 4 in 3 batches, modify 1",
        5,
        ("04", "05", "06", "07"),
        False,
    )


def test_live_numbers_neither_owned_nor_desired_are_never_touched() -> None:
    """A binding with nothing owned and nothing desired plans nothing, whatever is bound."""
    live = {n: live_number(n, INBOUND) for n in ("1", "2", "3")}
    assert compute_plan(live, {}, (), Limits()) == Plan()


def test_owned_numbers_already_gone_need_no_remove() -> None:
    """An owned number unbound out of band (not live) and not desired is simply forgotten."""
    assert compute_plan({}, {}, {"1"}, Limits()).is_empty is True


def test_an_unchanged_binding_plans_nothing() -> None:
    """Desired equals live for every owned number: the plan is empty."""
    live = {"1": live_number("1", INBOUND), "2": live_number("2", WELCOME)}
    plan = compute_plan(live, {"1": INBOUND, "2": WELCOME}, {"1", "2"}, Limits())
    assert (plan, plan.summary, plan.write_calls, plan.added_numbers) == (Plan(), "no changes", 0, ())


def test_a_desired_number_bound_but_not_owned_is_modified_so_conflicts_are_checked_first() -> None:
    """compute_plan adopts what it is given; find_conflicts names the numbers to refuse or adopt."""
    live = {"1": live_number("1", OUTBOUND), "2": live_number("2", INBOUND), "3": live_number("3", INBOUND)}
    desired = {"1": INBOUND, "2": INBOUND, "4": INBOUND}
    assert find_conflicts(live, desired, {"2"}) == (live["1"],)
    assert find_conflicts(live, desired, {"1", "2"}) == ()
    assert compute_plan(live, desired, (), Limits()).modifies == (Modify("1", "id-1", INBOUND),)


def test_ten_thousand_numbers_take_the_fewest_batches_of_the_default_size() -> None:
    """10,000 new numbers with one setting are 100 batches of 100, in number order."""
    desired = {f"0216{i:07d}": WELCOME for i in reversed(range(10_000))}
    plan = compute_plan({}, desired, (), Limits())
    assert DEFAULT_BATCH_SIZE == 100
    assert [len(b.numbers) for b in plan.add_batches] == [100] * 100
    assert plan.added_numbers == tuple(sorted(desired))
    assert plan.summary == "add 10000 in 100 batches"


@pytest.mark.parametrize(
    ("plan", "summary"),
    [
        (Plan(), "no changes"),
        (Plan(removes=(Remove("1", "a"),)), "remove 1"),
        (Plan(add_batches=(AddBatch(INBOUND, ("1",)),)), "add 1 in 1 batch"),
        (Plan(modifies=(Modify("1", "a", INBOUND), Modify("2", "b", INBOUND))), "modify 2"),
        (
            Plan(
                removes=tuple(Remove(str(i), str(i)) for i in range(5)),
                add_batches=(AddBatch(INBOUND, tuple(str(i) for i in range(10))),),
                modifies=tuple(Modify(str(i), str(i), OUTBOUND) for i in range(3)),
            ),
            "remove 5, add 10 in 1 batch, modify 3",
        ),
    ],
)
def test_summary(plan: Plan, summary: str) -> None:
    """The summary counts each kind of change and the batches."""
    assert plan.summary == summary


@pytest.mark.parametrize("batch_size", [0, -1, True, 1.5, "100"])
def test_limits_refuse_a_batch_size_below_one_or_not_whole(batch_size: object) -> None:
    """A batch size is a whole number of at least 1."""
    with pytest.raises(
        ValueError,
        match=f"^the batch size must be a whole number of at least 1, not {re.escape(repr(batch_size))}$",
    ):
        Limits(batch_size=batch_size)  # type: ignore[arg-type]


def test_an_empty_batch_is_refused() -> None:
    """A batch binds at least one number."""
    with pytest.raises(ValueError, match=r"^a batch binds at least one number$"):
        AddBatch(INBOUND, ())


def test_rebatch_splits_in_order_and_joins_adjacent_equal_settings() -> None:
    """rebatch keeps the order of numbers and makes the fewest batches of each settings run."""
    batches = (
        AddBatch(WELCOME, ("1", "2", "3", "4", "5")),
        AddBatch(INBOUND, ("6",)),
        AddBatch(INBOUND, ("7", "8")),
    )
    assert rebatch(batches, 2) == (
        AddBatch(WELCOME, ("1", "2")),
        AddBatch(WELCOME, ("3", "4")),
        AddBatch(WELCOME, ("5",)),
        AddBatch(INBOUND, ("6", "7")),
        AddBatch(INBOUND, ("8",)),
    )
    assert rebatch(batches, 5) == (batches[0], AddBatch(INBOUND, ("6", "7", "8")))
    assert rebatch((), 1) == ()
    with pytest.raises(ValueError, match=r"^the batch size must be a whole number of at least 1, not 0$"):
        rebatch(batches, 0)


@pytest.mark.parametrize(
    ("current", "cap", "smaller"),
    [
        (100, 50, 50),
        (100, None, 50),
        (100, 100, 50),
        (100, 0, 50),
        (100, 200, 50),
        (3, None, 2),
        (2, None, 1),
        (1, None, 1),
    ],
)
def test_reduced_batch_size(current: int, cap: int | None, smaller: int) -> None:
    """After a too-large refusal: the service's smaller cap, else half (rounded up), never below 1."""
    assert reduced_batch_size(current, cap) == smaller


# --- properties -------------------------------------------------------------------------------

_pool = [f"0216066{i:04d}" for i in range(24)]
_settings = st.builds(
    Settings,
    usage=st.sampled_from(Usage),
    contact_flow_id=st.none() | st.sampled_from(["f1", "f2"]),
    skill_group_ids=st.lists(st.sampled_from(["g1", "g2", "g3"]), max_size=3).map(tuple),
)
_live = st.dictionaries(st.sampled_from(_pool), _settings).map(
    lambda bound: {n: live_number(n, s) for n, s in bound.items()}
)
_desired = st.dictionaries(st.sampled_from(_pool), _settings)
_owned = st.frozensets(st.sampled_from(_pool))
_limits = st.builds(Limits, batch_size=st.integers(1, 6))

_hypothesis = settings(max_examples=200, deadline=None)


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned, limits=_limits)
def test_applying_the_plan_yields_desired_and_leaves_the_rest_alone(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: frozenset[str], limits: Limits
) -> None:
    """After the plan, owned ∪ desired numbers are bound exactly as desired; others are untouched."""
    after = apply(compute_plan(live, desired, owned, limits), live)
    for number in set(live) | set(after) | owned | set(desired):
        if number in desired:
            assert after[number].settings == desired[number]
        elif number in owned:
            assert number not in after
        else:
            assert after.get(number) == live.get(number)
    for number in desired.keys() & live.keys():  # a bound number keeps its id
        assert after[number].phone_number_id == live[number].phone_number_id


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned, limits=_limits)
def test_batches_are_homogeneous_within_size_and_fewest(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: frozenset[str], limits: Limits
) -> None:
    """Every batch has one settings value and at most batch_size numbers, in the fewest batches."""
    plan = compute_plan(live, desired, owned, limits)
    groups: dict[Settings, list[str]] = {}
    for number, wanted in desired.items():
        if number not in live:
            groups.setdefault(wanted, []).append(number)
    for wanted, numbers in groups.items():
        batches = [b for b in plan.add_batches if b.settings == wanted]
        assert len(batches) == math.ceil(len(numbers) / limits.batch_size)
        assert sorted(n for b in batches for n in b.numbers) == sorted(numbers)
    for batch in plan.add_batches:
        assert 1 <= len(batch.numbers) <= limits.batch_size
        assert all(desired[n] == batch.settings for n in batch.numbers)


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned, limits=_limits)
def test_no_number_is_in_two_operations(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: frozenset[str], limits: Limits
) -> None:
    """Each number appears at most once across removes, batches and modifies."""
    plan = compute_plan(live, desired, owned, limits)
    numbers = [r.number for r in plan.removes] + list(plan.added_numbers) + [m.number for m in plan.modifies]
    assert len(numbers) == len(set(numbers))
    assert plan.write_calls == len(plan.removes) + len(plan.add_batches) + len(plan.modifies)


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned, limits=_limits)
def test_same_input_same_plan_in_the_declared_order(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: frozenset[str], limits: Limits
) -> None:
    """The plan does not depend on mapping order, and its collections are in the declared order."""
    plan = compute_plan(live, desired, owned, limits)
    reordered = compute_plan(
        dict(reversed(live.items())), dict(reversed(desired.items())), sorted(owned, reverse=True), limits
    )
    assert reordered == plan
    assert [r.number for r in plan.removes] == sorted(r.number for r in plan.removes)
    assert [m.number for m in plan.modifies] == sorted(m.number for m in plan.modifies)
    keys = [(b.settings.sort_key, b.numbers[0]) for b in plan.add_batches]
    assert keys == sorted(keys)
    assert all(list(b.numbers) == sorted(b.numbers) for b in plan.add_batches)


@_hypothesis
@given(live=_live, data=st.data(), limits=_limits)
def test_no_change_gives_an_empty_plan(
    live: dict[str, LiveNumber], data: st.DataObject, limits: Limits
) -> None:
    """When desired matches live for every owned or desired number, nothing is planned."""
    kept = data.draw(st.frozensets(st.sampled_from(_pool)).map(lambda s: s & live.keys()))
    gone = data.draw(st.frozensets(st.sampled_from(_pool)).map(lambda s: s - live.keys()))
    desired = {n: live[n].settings for n in kept}
    assert compute_plan(live, desired, kept | gone, limits) == Plan()


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned)
def test_conflicts_are_desired_bound_and_not_owned(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: Collection[str]
) -> None:
    """find_conflicts returns exactly the desired numbers bound but not owned, by number."""
    conflicts = find_conflicts(live, desired, owned)
    assert [c.number for c in conflicts] == sorted(set(desired) & set(live) - set(owned))
    assert all(c is live[c.number] for c in conflicts)


@_hypothesis
@given(live=_live, desired=_desired, owned=_owned, first=st.integers(1, 6), second=st.integers(1, 6))
def test_rebatch_equals_planning_with_the_smaller_size(
    live: dict[str, LiveNumber], desired: dict[str, Settings], owned: frozenset[str], first: int, second: int
) -> None:
    """Re-batching a plan to a smaller size gives the batches a plan of that size would have."""
    large, small = max(first, second), min(first, second)
    plan = compute_plan(live, desired, owned, Limits(large))
    assert rebatch(plan.add_batches, small) == compute_plan(live, desired, owned, Limits(small)).add_batches
