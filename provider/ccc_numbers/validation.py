"""The pydantic model of the user's inputs, and the words for everything wrong with one value.

Owns the leaf validators, the pydantic models of the resource's inputs and of per-number settings,
and the translation of pydantic's errors into property paths and plain sentences. ``check_inputs``
(``models.py``) comes here only when its pure-Python fast path cannot confirm that every value is
plainly valid; this module then either finds what is wrong or returns the same checked values as the
fast path. The rules across values (duplicates, the 400-number rule, empty lists) stay in
``models.py``, shared by both paths; after failures, this module also hands them the values that
passed, with ``_INVALID`` in place of each value that failed, so that they can still run.

Separate from ``models.py`` for the provider host's cold start: importing pydantic and building
these models costs ~70 ms, more than everything else the host's first Check needs, and nothing else
that check or diff runs on plainly valid input imports this module (``tests/unit/test_imports.py``).

Leaf validators are plain functions: each lets an unknown through, checks the type and raises a
PydanticCustomError whose message is already the sentence the user sees. pydantic contributes the
structure: property paths, required and unknown properties, and the list-or-mapping dispatch.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    PlainValidator,
    Tag,
    ValidationError,
    ValidationInfo,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from .models import (
    _INVALID,
    _NO_OVERRIDES,
    _PER_NUMBER_KEYS,
    _USAGE_LIST,
    _USAGES_BY_VALUE,
    INPUT_KEYS,
    Failure,
    _Checked,
    _describe,
    _key_path,
    _Overrides,
    _plain_overrides,
    is_unknown,
    normalize_number,
    parse_usage,
)

__all__ = ["check_values"]


def _fail(reason: str) -> PydanticCustomError:
    # The reason goes in the context, not the template, so braces in user text stay literal.
    return PydanticCustomError("ccc_input", "{reason}", {"reason": reason})


def _validate_id(what: str, when_empty: str) -> Callable[[object], object]:
    def validate(value: object) -> object:
        if is_unknown(value):
            return value
        if not isinstance(value, str):
            raise _fail(f"must be {what} (a string), not {_describe(value)}")
        if not value.strip():
            raise _fail(f"must not be empty; {when_empty}")
        if value != value.strip():
            raise _fail(f"{json.dumps(value, ensure_ascii=False)} has spaces around it; write {what} without")
        return value

    return validate


def _validate_number(value: object) -> object:
    if is_unknown(value):
        return value
    if isinstance(value, str):
        try:
            return normalize_number(value)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An unquoted number has already lost its leading 0 or +; guessing it back would bind
        # the wrong number.
        raise _fail(
            f"must be a phone number in quotes (a string), not {_describe(value)}: a leading 0 or + is"
            " lost when a number is not quoted"
        )
    raise _fail(f"must be a phone number (a string), not {_describe(value)}")


def _validate_usage(value: object) -> object:
    usage = _USAGES_BY_VALUE.get(value) if isinstance(value, str) else None
    if usage is not None:
        return usage  # the common case, without the cost of an enum lookup
    if is_unknown(value):
        return value
    if not isinstance(value, str):
        raise _fail(f"must be one of {_USAGE_LIST} (a string), not {_describe(value)}")
    try:
        return parse_usage(value)
    except ValueError as exc:
        raise _fail(str(exc)) from None


def _validate_flag(value: object) -> object:
    if is_unknown(value) or isinstance(value, bool):
        return value
    raise _fail(f"must be true or false, not {_describe(value)}")


def _unknown_or_none_passes(value: object, handler: Callable[[object], object]) -> object:
    if value is None or is_unknown(value):
        return value
    return handler(value)


def _per_number_value(value: object, handler: Callable[[object], object], info: ValidationInfo) -> object:
    if type(value) is dict:
        plain = _plain_overrides(value, info.context["plain_groups"] if info.context else set())
        if plain is not None:
            return plain
    elif value is None:
        return _NO_OVERRIDES
    elif is_unknown(value):
        return value
    args = handler(value)  # the full model: errors with their paths
    assert isinstance(args, _NumberArgs)
    return _Overrides(args.usage, args.contact_flow_id, args.skill_group_ids)


def _numbers_form(value: object) -> str | None:
    if is_unknown(value):
        return "unknown"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return None


_FlowId = Annotated[
    object, PlainValidator(_validate_id("a contact flow id", "leave it out for no contact flow"))
]
_GroupId = Annotated[object, PlainValidator(_validate_id("a skill group id", "remove the empty id"))]
_GroupIds = Annotated[list[_GroupId] | None, WrapValidator(_unknown_or_none_passes)]
_UsageIn = Annotated[object, PlainValidator(_validate_usage)]


class _NumberArgs(BaseModel):
    """The per-number settings in the mapping form of `numbers`; None means "use the default"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    usage: _UsageIn = None
    contact_flow_id: _FlowId = None
    skill_group_ids: _GroupIds = None


_UnknownNumbers = Annotated[object, PlainValidator(lambda value: value), Tag("unknown")]
_NumberList = Annotated[list[Annotated[object, PlainValidator(_validate_number)]], Tag("list")]
_NumberMapping = Annotated[
    dict[Any, Annotated[_NumberArgs, WrapValidator(_per_number_value)]], Tag("mapping")
]
# A discriminated union, so that an error names the form the user chose, not both forms.
_NumbersIn = Annotated[
    _UnknownNumbers | _NumberList | _NumberMapping,
    Discriminator(_numbers_form, custom_error_type="numbers_form", custom_error_message="wrong form"),
]


class _BindingArgs(BaseModel):
    """The resource's inputs as the user wrote them, checked leaf by leaf."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instance_id: Annotated[
        object,
        PlainValidator(
            _validate_id("the id of a CCC instance", "give the id of the CCC instance to bind to")
        ),
    ]
    numbers: _NumbersIn
    usage: _UsageIn = None
    contact_flow_id: _FlowId = None
    skill_group_ids: _GroupIds = None
    adopt_existing: Annotated[object, PlainValidator(_validate_flag)] = False


# ---------------------------------------------------------------------------------------------
# Errors in words


def _path(loc: tuple[int | str, ...]) -> str:
    """`('numbers', 'mapping', '021', 'usage')` → `numbers["021"].usage`."""
    parts = list(loc)
    if parts[:1] == ["numbers"] and len(parts) > 1:
        del parts[1]  # the list/mapping tag that pydantic puts after a discriminated union
        if len(parts) > 1 and isinstance(parts[1], str):
            parts[:2] = [_key_path(parts[1])]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _spelling(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _near_miss(name: str, choices: Iterable[str]) -> str | None:
    """The choice that `name` probably misspells, if any.

    Compared without case and underscores, so that the camelCase of other Pulumi SDKs
    (``contactFlowId``) finds ``contact_flow_id``.
    """
    by_spelling = {_spelling(choice): choice for choice in choices}
    match = difflib.get_close_matches(_spelling(name), list(by_spelling), n=1, cutoff=0.6)
    return by_spelling[match[0]] if match else None


def _hint(name: str, choices: Iterable[str], then: str) -> str:
    """``did you mean x? Then…`` for a near miss, else ``then…``."""
    match = _near_miss(name, choices)
    return f"did you mean {match}? {then[0].upper()}{then[1:]}" if match else then


def _reason(error: Mapping[str, Any]) -> str:  # noqa: PLR0911  (one return per error kind: a table)
    """A plain sentence for one pydantic error; our own validators already wrote theirs."""
    kind = error["type"]
    loc = error["loc"]
    value = error.get("input")
    if kind == "ccc_input":
        return str(error["ctx"]["reason"])
    if kind == "missing":
        if loc == ("numbers",):
            return "is required: list the phone numbers to bind"
        if loc == ("instance_id",):
            return "is required: give the id of the CCC instance to bind the numbers to"
        return "is required"
    if kind == "extra_forbidden":
        name = str(loc[-1])
        if len(loc) == 1:
            known = f"the properties are {', '.join(INPUT_KEYS[:-1])} and {INPUT_KEYS[-1]}"
            return f"is not a property of PhoneNumberBinding; {_hint(name, INPUT_KEYS, known)}"
        known = "the settings are usage, contact_flow_id and skill_group_ids"
        return f"is not a per-number setting; {_hint(name, _PER_NUMBER_KEYS, known)}"
    if kind == "numbers_form":
        return (
            "must be a list of phone numbers or a mapping from phone number to settings,"
            f" not {_describe(value)}"
        )
    if kind == "model_type":
        return (
            f"must be a mapping of settings (usage, contact_flow_id, skill_group_ids), not {_describe(value)}"
        )
    if kind == "list_type":
        return f"must be a list of skill group ids, not {_describe(value)}"
    # Not reachable from the engine's values; pydantic's own message is a sentence too.
    return f"is not valid: {error['msg']}"


def check_values(given: dict[str, Any]) -> tuple[_Checked, tuple[Failure, ...]]:
    """Each of the given inputs checked on its own, and the failures that name each bad value.

    `given` is what ``check_inputs`` prepared: engine keys, output keys and None values removed, a
    mapping of numbers sorted by key. Without failures, the checked values are exactly the fast
    path's; with failures, `_INVALID` stands for each value that failed (see `_after_failures`).
    """
    try:
        args = _BindingArgs.model_validate(given, context={"plain_groups": set()})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        failures = tuple(Failure(_path(error["loc"]), _reason(error)) for error in errors)
        return _after_failures(given, {error["loc"] for error in errors}), failures
    checked = _Checked(
        instance_id=args.instance_id,
        numbers=args.numbers,
        usage=args.usage,
        contact_flow_id=args.contact_flow_id,
        skill_group_ids=args.skill_group_ids,
        adopt_existing=args.adopt_existing,
    )
    return checked, ()


# ---------------------------------------------------------------------------------------------
# The values that passed, for the rules across values after failures

_Loc = tuple[int | str, ...]


def _after_failures(given: dict[str, Any], failed: set[_Loc]) -> _Checked:
    """The checked values when the model failed: what passed as the model reads it, else `_INVALID`.

    `failed` holds the locations of the model's errors. A value fails as a whole (its own location)
    or element by element (a number in the list, a skill group id, a number's own settings); a
    missing or misspelt property is left out. pydantic names a mapping key by its ``str()``, which
    two keys may share, so each number's settings are checked again on their own (the plainly valid
    ones cheaply) rather than looked up by location.
    """

    def value(key: str, default: object = None) -> object:
        return _INVALID if (key,) in failed else given.get(key, default)

    usage = value("usage")
    if usage is not None and usage is not _INVALID:
        usage = _validate_usage(usage)
    numbers = given.get("numbers")
    form = None if ("numbers",) in failed else _numbers_form(numbers)
    if form == "list":
        assert isinstance(numbers, (list, tuple))
        numbers = [
            _INVALID if ("numbers", "list", index) in failed else _validate_number(raw)
            for index, raw in enumerate(numbers)
        ]
    elif form == "mapping":
        assert isinstance(numbers, Mapping)
        plain_groups: set[tuple[object, ...]] = set()
        numbers = {key: _settings_after_failures(own, plain_groups) for key, own in numbers.items()}
    elif form is None:
        numbers = _INVALID  # missing, or neither a list nor a mapping
    return _Checked(
        instance_id=value("instance_id"),
        numbers=numbers,
        usage=usage,
        contact_flow_id=value("contact_flow_id"),
        skill_group_ids=_groups_after_failures(given.get("skill_group_ids"), failed, ("skill_group_ids",)),
        adopt_existing=value("adopt_existing", False),
    )


def _groups_after_failures(groups: object, failed: set[_Loc], loc: _Loc) -> object:
    if loc in failed:
        return _INVALID
    if groups is None or is_unknown(groups) or not isinstance(groups, (list, tuple)):
        return groups
    return [_INVALID if (*loc, index) in failed else group for index, group in enumerate(groups)]


def _settings_after_failures(value: object, plain_groups: set[tuple[object, ...]]) -> object:
    """One number's `_Overrides` (or unknown) when the model failed somewhere, `_INVALID` parts."""
    if type(value) is dict:
        plain = _plain_overrides(value, plain_groups)
        if plain is not None:
            return plain
    elif value is None:
        return _NO_OVERRIDES
    elif is_unknown(value):
        return value
    try:
        args = _NumberArgs.model_validate(value)
    except ValidationError as exc:
        failed: set[_Loc] = {error["loc"] for error in exc.errors(include_url=False)}
    else:
        return _Overrides(args.usage, args.contact_flow_id, args.skill_group_ids)
    if () in failed or not isinstance(value, Mapping):
        return _INVALID  # not a mapping of settings
    usage = value.get("usage")
    if ("usage",) in failed:
        usage = _INVALID
    elif usage is not None:
        usage = _validate_usage(usage)
    elif any(_means_usage(loc) for loc in failed):
        usage = _INVALID  # a misspelt usage: falling back to the resource-level one would be a guess
    flow = _INVALID if ("contact_flow_id",) in failed else value.get("contact_flow_id")
    groups = _groups_after_failures(value.get("skill_group_ids"), failed, ("skill_group_ids",))
    return _Overrides(usage, flow, groups)


def _means_usage(loc: _Loc) -> bool:
    """True for an unknown setting whose failure asks "did you mean usage?"."""
    if len(loc) != 1 or loc[0] in _PER_NUMBER_KEYS:
        return False
    return _near_miss(str(loc[0]), _PER_NUMBER_KEYS) == "usage"
