"""check_inputs' pure-Python fast path and the pydantic model in ccc_numbers.validation agree.

The fast path (``models._plain_args``) exists so that checking plainly valid inputs never imports
pydantic (the provider host's cold start). It must either decline or return exactly what the
pydantic model returns; the model stays the only author of the failure messages for single values.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ccc_numbers import models, validation
from ccc_numbers.models import UNKNOWN, CheckOutcome, Usage, check_inputs

INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"


class Unknown:
    """Stands in for pulumi.output.Unknown, which is recognised by module and class name."""


Unknown.__module__ = "pulumi.output"

_UNKNOWNS = (UNKNOWN, Unknown())


@contextmanager
def _pydantic_only() -> Iterator[None]:
    """check_inputs with neither the fast path nor the model's own per-number shortcut."""
    with (
        mock.patch.object(models, "_plain_args", return_value=None),
        mock.patch.object(validation, "_plain_overrides", return_value=None),
    ):
        yield


def _by_pydantic(news: dict[str, Any]) -> CheckOutcome:
    with _pydantic_only():
        return check_inputs(news)


def _fast_path_result(news: dict[str, Any]) -> tuple[dict[str, Any], models._Checked | None]:
    """What check_inputs handed the fast path and what the fast path answered."""
    spy = mock.MagicMock(wraps=models._plain_args)
    with mock.patch.object(models, "_plain_args", spy):
        check_inputs(news)
    ((given_arg,), _) = spy.call_args
    return given_arg, models._plain_args(given_arg)


# --- strategies: valid and invalid values, both forms of numbers --------------------------------

_plain_numbers = st.sampled_from(
    ["02160660000", "021 6066 0001", "(021) 6066-0002", "4001000000", "+86 400 100 0001", "+862160660003"]
)
_bad_numbers = st.sampled_from(["021.6066", "1", "", "021+60660000", "0216066000x"])
_number_elements = (
    _plain_numbers
    | _bad_numbers
    | st.sampled_from([*_UNKNOWNS, 2160660000.0, True, None, {"n": "02160660000"}])
)
_ids = st.sampled_from(["g1", "g2", "g3"])
_bad_ids = st.sampled_from(["", " g1", "g1 ", 3.0, {}, None, True])
_id_lists = st.lists(_ids | st.sampled_from(_UNKNOWNS) | _bad_ids, max_size=3) | st.lists(_ids, max_size=3)
_group_values = (
    _id_lists
    | _id_lists.map(tuple)
    | st.sampled_from(["g1", *_UNKNOWNS, 1.0, {"g1": True}])
    | st.lists(_ids, max_size=3, unique=True)
)
_usages = st.sampled_from(["Inbound", "Outbound", "Bidirection"])
_usage_values = _usages | st.sampled_from(["inbound", "Outboung", "", 1.0, True, Usage.INBOUND, *_UNKNOWNS])
_flow_values = st.sampled_from(["f1", "f2"]) | st.sampled_from(["", " f1", 2.0, False, *_UNKNOWNS])

_per_number_value = (
    st.none()
    | st.sampled_from(["Inbound", 1.0, ["g1"], *_UNKNOWNS])
    | st.fixed_dictionaries(
        {},
        optional={
            "usage": _usages | _usage_values,
            "contact_flow_id": _flow_values,
            "skill_group_ids": _group_values,
            "usgae": st.just("Inbound"),
            "trunks": st.just(2.0),
        },
    )
    | st.fixed_dictionaries(
        {},
        optional={
            "usage": _usages,
            "contact_flow_id": st.sampled_from(["f1", "f2"]),
            "skill_group_ids": st.lists(_ids, max_size=3, unique=True),
        },
    )
)
_mapping_keys = _plain_numbers | _bad_numbers | st.sampled_from([2160660000.0, "021-6066-0000"])

_numbers_values = (
    st.lists(_plain_numbers, max_size=5)
    | st.lists(_number_elements, max_size=5)
    | st.lists(_plain_numbers, max_size=5).map(tuple)
    | st.dictionaries(_mapping_keys, _per_number_value, max_size=5)
    | st.dictionaries(_plain_numbers, st.just({}), max_size=5)
    | st.sampled_from(["02160660000", 5.0, *_UNKNOWNS])
)


@st.composite
def messy_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Inputs as the engine or a direct caller may pass them: valid, invalid, unknown, or left out."""
    news: dict[str, Any] = {}
    if draw(st.integers(0, 9)):  # mostly given, and mostly plainly valid
        news["instance_id"] = draw(
            st.just(INSTANCE) | st.sampled_from(["", f" {INSTANCE}", 5.0, None, *_UNKNOWNS])
        )
    if draw(st.integers(0, 9)):
        news["numbers"] = draw(_numbers_values | st.none())
    optional = {
        "usage": _usages | _usage_values | st.none(),
        "contact_flow_id": st.just("f1") | _flow_values | st.none(),
        "skill_group_ids": st.lists(_ids, max_size=3, unique=True) | _group_values | st.none(),
        "adopt_existing": st.booleans() | st.sampled_from(["true", 1.0, None, *_UNKNOWNS]),
        "__provider": st.just("gASV..."),
        "phone_number_ids": st.just({"02160660000": "id-1"}) | st.none(),
    }
    for key, values in optional.items():
        if draw(st.booleans()):
            news[key] = draw(values)
    if not draw(st.integers(0, 7)):  # now and then a property that does not exist
        news[draw(st.sampled_from(["skill_groups", "region", "usgae"]))] = draw(st.just("x") | st.none())
    return news


@st.composite
def plain_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Valid inputs the fast path must accept: either form, any defaults, unknowns where allowed."""
    news: dict[str, Any] = {"instance_id": draw(st.just(INSTANCE) | st.sampled_from(_UNKNOWNS))}
    for key, values in {
        "usage": _usages | st.sampled_from([Usage.OUTBOUND, *_UNKNOWNS]),
        "contact_flow_id": st.sampled_from(["f1", *_UNKNOWNS]),
        "skill_group_ids": st.lists(_ids | st.sampled_from(_UNKNOWNS), max_size=3).map(
            lambda ids: list(dict.fromkeys(ids))
        )
        | st.sampled_from(_UNKNOWNS),
        "adopt_existing": st.booleans() | st.sampled_from(_UNKNOWNS),
    }.items():
        if draw(st.booleans()):
            news[key] = draw(values)
    numbers = draw(st.lists(_plain_numbers | st.sampled_from(_UNKNOWNS), min_size=1, max_size=6))
    form = draw(st.sampled_from(["list", "tuple", "mapping", "unknown"]))
    if form == "unknown":
        news["numbers"] = draw(st.sampled_from(_UNKNOWNS))
    elif form == "mapping":
        keys = [n for n in numbers if not isinstance(n, Unknown) and n != UNKNOWN] or ["02160660000"]
        news["numbers"] = {
            key: draw(
                st.none()
                | st.sampled_from(_UNKNOWNS)
                | st.fixed_dictionaries(
                    {},
                    optional={
                        "usage": _usages,
                        "contact_flow_id": st.just("f2"),
                        "skill_group_ids": st.lists(_ids, max_size=2, unique=True),
                    },
                )
            )
            for key in keys
        }
    else:
        news["numbers"] = numbers if form == "list" else tuple(numbers)
    return news


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(news=messy_inputs())
def test_the_fast_path_declines_or_gives_what_the_model_gives(news: dict[str, Any]) -> None:
    """For any input, check_inputs (fast path first) and the pydantic model alone agree exactly:
    the same canonical inputs, or the same inputs as given and the same failures, in order."""
    fast = check_inputs(news)
    slow = _by_pydantic(news)
    assert fast == slow
    given_arg, plain = _fast_path_result(news)
    event("fast path" if plain is not None else "declined")
    if plain is not None:
        # The checked values themselves, before the rules across values, are the model's too.
        with mock.patch.object(validation, "_plain_overrides", return_value=None):
            assert validation.check_values(given_arg) == (plain, ())


@settings(max_examples=300, deadline=None)
@given(news=plain_inputs())
def test_the_fast_path_takes_plainly_valid_inputs_without_the_model(news: dict[str, Any]) -> None:
    """Plainly valid inputs (either form, defaults or not, unknowns where they pass through) never
    reach the pydantic model, and the outcome is the model's."""
    with mock.patch.object(validation, "check_values", side_effect=AssertionError("model used")):
        fast = check_inputs(news)
    assert fast == _by_pydantic(news)


@settings(max_examples=200, deadline=None)
@given(news=messy_inputs())
def test_failures_come_only_with_the_given_inputs(news: dict[str, Any]) -> None:
    """With failures, inputs are the given ones; without, exactly the canonical keys."""
    outcome = check_inputs(news)
    if outcome.failures:
        assert "__provider" not in outcome.inputs
    else:
        assert list(outcome.inputs) == list(models.CANONICAL_KEYS)


@settings(max_examples=300, deadline=None)
@given(news=messy_inputs())
def test_a_failed_value_hides_no_other_failure(news: dict[str, Any]) -> None:
    """No rule reads instance_id: an empty one adds its own failure, first, and changes no other.

    The other failures are those of the same inputs with a valid instance id, whatever they are:
    single values' or the rules across values' (duplicates, 400 numbers, empty lists)."""
    others = check_inputs({**news, "instance_id": INSTANCE}).failures
    failed = check_inputs({**news, "instance_id": ""}).failures
    assert [(f.property, f.reason) for f in failed[:1]] == [
        ("instance_id", "must not be empty; give the id of the CCC instance to bind to")
    ]
    assert failed[1:] == others


# The model's own shortcut for per-number settings (validation._per_number_value): kept for inputs
# that reach the model for another reason, e.g. one bad number among 10,000.

_messy_value = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "usage": st.sampled_from(["Inbound", "Outbound", "Bidirection", "inbound", 1.0, UNKNOWN]),
        "contact_flow_id": st.sampled_from(["f1", "", " f1", 2.0, UNKNOWN]),
        "skill_group_ids": st.sampled_from(["g1", None, UNKNOWN])
        | st.lists(st.sampled_from(["g1", "g2", "", " g1", 3.0, UNKNOWN, Unknown(), {}]), max_size=3),
        "usgae": st.just("Inbound"),
    },
)
_messy_key = st.sampled_from(["02160660000", "021 6066 0000", "02160660001", "4001000000", "021.6066", "400"])


@settings(max_examples=200, deadline=None)
@given(
    numbers=st.dictionaries(_messy_key, _messy_value, max_size=4),
    usage=st.sampled_from([None, "Inbound", "Bidirection"]),
    groups=st.sampled_from([None, ["g2"], ["g2", "g1"]]),
)
def test_the_models_shortcut_for_per_number_settings_agrees_with_the_model(
    numbers: dict[str, Any], usage: str | None, groups: list[str] | None
) -> None:
    """Skipping the per-number pydantic model for plainly valid settings changes no result."""
    news = {"instance_id": INSTANCE, "numbers": numbers, "usage": usage, "skill_group_ids": groups}
    with mock.patch.object(models, "_plain_args", return_value=None):
        shortcut = check_inputs(news)
    assert shortcut == _by_pydantic(news)


# --- examples --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "news",
    [
        {"instance_id": INSTANCE, "numbers": ["02160660000", "021 6066 0000"]},
        {"instance_id": INSTANCE, "numbers": ["4001000000"], "usage": "Outbound"},
        {"instance_id": INSTANCE, "numbers": []},
        {"instance_id": INSTANCE, "numbers": {}},
        {"instance_id": INSTANCE, "numbers": {"x": {}}},
        {"instance_id": INSTANCE, "numbers": {"4001000000": {"usage": "Bidirection"}}},
        {"instance_id": INSTANCE, "numbers": ["02160660000"], "skill_group_ids": ["g", "g"]},
    ],
    ids=[
        "same number twice",
        "400 outbound",
        "empty list",
        "empty mapping",
        "bad key",
        "400 own",
        "dup groups",
    ],
)
def test_failures_across_values_need_no_pydantic(news: dict[str, Any]) -> None:
    """Values that are each fine but break a rule across values fail on the fast path, as before."""
    with mock.patch.object(validation, "check_values", side_effect=AssertionError("model used")):
        fast = check_inputs(news)
    assert fast.failures
    assert fast == _by_pydantic(news)
