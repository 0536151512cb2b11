"""The pydantic model of the user's inputs, and the words for everything wrong with one value.

Owns the leaf validators, the pydantic models of the resource's inputs and of per-number settings,
and the translation of pydantic's errors into property paths and plain sentences. ``check_inputs``
(``models.py``) comes here only when its pure-Python fast path cannot confirm that every value is
plainly valid; this module then either finds what is wrong or returns the same checked values as the
fast path. The rules across values (duplicates, the 400-number rule, empty lists) stay in
``models.py``, shared by both paths.

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


def _hint(name: str, choices: Iterable[str], then: str) -> str:
    """``did you mean x? Then…`` for a near miss, else ``then…``."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f"did you mean {match[0]}? {then[0].upper()}{then[1:]}" if match else then


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


def check_values(given: dict[str, Any]) -> _Checked | tuple[Failure, ...]:
    """Each of the given inputs checked on its own, or the failures that name each bad value.

    `given` is what ``check_inputs`` prepared: engine keys, output keys and None values removed, a
    mapping of numbers sorted by key.
    """
    try:
        args = _BindingArgs.model_validate(given, context={"plain_groups": set()})
    except ValidationError as exc:
        return tuple(Failure(_path(error["loc"]), _reason(error)) for error in exc.errors(include_url=False))
    return _Checked(
        instance_id=args.instance_id,
        numbers=args.numbers,
        usage=args.usage,
        contact_flow_id=args.contact_flow_id,
        skill_group_ids=args.skill_group_ids,
        adopt_existing=args.adopt_existing,
    )
