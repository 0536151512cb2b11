"""A binding's inputs as the user writes them, and every rule they must obey: the one place for each.

Owns `check_inputs` (the user's list or mapping of numbers → the canonical inputs of
``models.py``, or failures that name a property path), the pydantic model of the inputs
(`_BindingInputs`, with `_NumberSettings` for the mapping form), phone-number normalisation, the
spelling of usages, and the rules across values, which the model's own validator runs: duplicates
after normalisation (within the binding, and with the other bindings of the program, see
`declared_numbers`), the 400-number rule, empty lists and mappings, duplicate skill group ids.
Each failure is a plain sentence, worded where the rule is.

How one check reports everything at once: a value that fails its own check never fails the whole
model. A leaf validator returns a `_Failed` holding its sentence in place of the value, and where
pydantic itself refuses a value's form (``numbers`` neither a list nor a mapping, a number's
settings or a list of skill groups of the wrong type) the error is caught there and worded in
`_reason` (`_kept`). So the model is always built, and its validator reports first each `_Failed`
at its path, in the order of the properties (list order or sorted keys within ``numbers``),
missing properties and unknown ones (pydantic's extras, sorted) included, and then the failures
of the rules across values, which read only the values that passed: a number that failed is no
one's duplicate, and a failed or misspelt usage decides no 400 number's conflict.

Must not do I/O, read the clock, import the Alibaba SDK or `pulumi` (check runs in every preview;
tests assert the imports), or use the API's PascalCase wire names.

Decisions (the README repeats them for users):

* A phone number is written with digits, an optional leading ``+`` (kept as given: ``+86…`` and
  ``86…`` are different spellings to the API) and spaces, tabs, dashes or parentheses as separators,
  which are removed. 5 to 20 digits. Dots, letters and extensions are refused, not guessed at.
* A 400 number (China's toll-free prefix: ten digits ``400xxxxxxx``, also written ``86…``,
  ``0086…`` or ``+86…``) can only be bound for ``Inbound`` calls.
* The default usage, when neither the number nor the resource names one, is ``Bidirection``, and
  ``Inbound`` for 400 numbers, so that mixing 400 numbers and landlines needs no per-number settings.
  An explicit usage other than ``Inbound`` on a 400 number is a failure, never silently changed.
* ``None`` means "not given" everywhere (the engine drops ``None`` values anyway). A per-number
  ``skill_group_ids: []`` means "no skill groups"; a per-number setting cannot clear a resource-level
  contact flow (leave the resource-level one out instead).
* Values unknown during preview pass through: an unknown ``instance_id`` or per-number value stays
  as it is; a ``numbers`` list with an unknown element becomes unknown as a whole, since an unknown
  cannot be a mapping key.
* A number the engine hands over as a float (every int becomes one) is shown as the user wrote it:
  ``the number 2160660000``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    PlainValidator,
    PrivateAttr,
    Tag,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
    with_config,
)
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from .models import UNKNOWN, Usage, is_unknown

__all__ = [
    "DECLARED_ELSEWHERE",
    "INPUT_KEYS",
    "MAX_DIGITS",
    "MIN_DIGITS",
    "OUTPUT_KEYS",
    "PER_NUMBER_KEYS",
    "CheckOutcome",
    "Failure",
    "check_inputs",
    "declared_numbers",
    "is_toll_free",
    "normalize_number",
    "parse_usage",
]

#: Output-only properties: the resource declares them, so they may arrive in `news`; check drops them.
#: (``number_details`` is no longer an output; state written before it was dropped still has it.)
OUTPUT_KEYS: Final = frozenset({"phone_number_ids", "number_details"})
#: The hidden input in which the resource's constructor names the numbers of this binding that
#: another binding of the same program declared first (see `declared_numbers`); check refuses them.
DECLARED_ELSEWHERE: Final = "__declared_elsewhere"

MIN_DIGITS: Final = 5
MAX_DIGITS: Final = 20


@dataclass(frozen=True, slots=True)
class Failure:
    """One check failure: the property path in the user's terms and the reason in words."""

    property: str
    reason: str


@dataclass(frozen=True)
class CheckOutcome:
    """The result of `check_inputs`: canonical inputs when `failures` is empty."""

    inputs: dict[str, Any]
    failures: tuple[Failure, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when there are no failures."""
        return not self.failures


# ---------------------------------------------------------------------------------------------
# Numbers and usages

_PLAIN_NUMBER: Final = re.compile(r"\+?[0-9]{5,20}")
_SEPARATORS: Final = str.maketrans("", "", " \t-()")
_BAD_CHAR: Final = re.compile(r"[^0-9+]")


def normalize_number(raw: str) -> str:
    """The number without separators (spaces, tabs, dashes, parentheses); ValueError says why not."""
    if _PLAIN_NUMBER.fullmatch(raw):
        return raw  # the common case, without building a new string
    number = raw.translate(_SEPARATORS)
    if _PLAIN_NUMBER.fullmatch(number):
        return number
    shown = json.dumps(raw, ensure_ascii=False)
    if not number:
        raise ValueError(f"{shown} is not a phone number: it has no digits")
    bad = _BAD_CHAR.search(number)
    if bad:
        char = json.dumps(bad.group(), ensure_ascii=False)
        raise ValueError(
            f"{shown} is not a phone number: {char} is not allowed; write digits, with an optional"
            " leading + and spaces, dashes or parentheses between them"
        )
    if "+" in number[1:]:
        raise ValueError(f"{shown} is not a phone number: a + may only come first")
    digits = len(number) - number.startswith("+")
    raise ValueError(
        f"{shown} is not a phone number: it has {digits} digits, and a phone number has"
        f" {MIN_DIGITS} to {MAX_DIGITS}"
    )


def is_toll_free(number: str) -> bool:
    """True for a 400 number: ``400`` + 7 digits, or that after ``+86``, ``86`` or ``0086``."""
    if number.startswith("+"):
        national = number[3:] if number.startswith("+86") else ""
    elif number.startswith("0086") and len(number) == 14:
        national = number[4:]
    elif number.startswith("86") and len(number) == 12:
        national = number[2:]
    else:
        national = number
    return len(national) == 10 and national.startswith("400")


_USAGE_LIST: Final = "Inbound, Outbound or Bidirection"
_USAGES_BY_VALUE: Final = {u.value: u for u in Usage}
_USAGES_BY_LOWER: Final = {u.value.lower(): u for u in Usage}
_USAGE_VALUES: Final[dict[object, str]] = {u: u.value for u in Usage}


def parse_usage(value: str) -> Usage:
    """The usage with this exact spelling; ValueError names the usage meant when it is a near miss."""
    usage = _USAGES_BY_VALUE.get(value)
    if usage is not None:
        return usage
    shown = json.dumps(value, ensure_ascii=False)
    lower = value.strip().lower()
    # The documentation itself misspells Outbound as "Outboung"; case slips are common too.
    close = difflib.get_close_matches(lower, list(_USAGES_BY_LOWER), n=1, cutoff=0.6)
    hint = f"did you mean {_USAGES_BY_LOWER[close[0]]}? Use" if close else "use"
    raise ValueError(f"{shown} is not a usage; {hint} {_USAGE_LIST}")


# ---------------------------------------------------------------------------------------------
# Leaf validators: each lets an unknown through and raises the sentence the user reads


def _describe(value: object) -> str:  # noqa: PLR0911 - one return per kind of value: a table
    if value is None:
        return "None (an empty value)"
    if isinstance(value, bool):
        return f"the boolean {json.dumps(value)}"
    if isinstance(value, float) and value.is_integer():
        # The engine hands ints over as floats: 2160660000 arrives as 2160660000.0. Show what the
        # user wrote; a float the user wrote as 5.0 reads as 5, which says the same.
        return f"the number {int(value)}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a value of type {type(value).__name__}"


class _Failed:
    """A value that failed its own check, left in its place in the model.

    `reasons` pairs a path relative to the value (``""`` for the value itself) with the sentence.
    """

    __slots__ = ("reasons",)

    def __init__(self, *reasons: tuple[str, str]) -> None:
        self.reasons = reasons

    def __repr__(self) -> str:
        return "<failed>"


def _failed(reason: str) -> _Failed:
    return _Failed(("", reason))


def _wrong_form(exc: ValidationError) -> _Failed:
    """The errors pydantic raised for a value of the wrong form, worded, as a `_Failed`."""
    return _Failed(*((_relative_path(e["loc"]), _reason(e)) for e in exc.errors(include_url=False)))


def _kept(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    """The value as pydantic validates its form, or a `_Failed` in its place (not a failed model)."""
    try:
        return handler(value)
    except ValidationError as exc:
        return _wrong_form(exc)


def _validate_id(what: str, when_empty: str) -> Callable[[object], object]:
    def validate(value: object) -> object:
        if is_unknown(value):
            return value
        if not isinstance(value, str):
            return _failed(f"must be {what} (a string), not {_describe(value)}")
        if not value.strip():
            return _failed(f"must not be empty; {when_empty}")
        if value != value.strip():
            shown = json.dumps(value, ensure_ascii=False)
            return _failed(f"{shown} has spaces around it; write {what} without")
        return value

    return validate


def _validate_number(value: object) -> object:
    if isinstance(value, str):
        if value == UNKNOWN:
            return value
        try:
            return normalize_number(value)
        except ValueError as exc:
            return _failed(str(exc))
    if is_unknown(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An unquoted number has already lost its leading 0 or +; guessing it back would bind
        # the wrong number.
        return _failed(
            f"must be a phone number in quotes (a string), not {_describe(value)}: a leading 0 or + is"
            " lost when a number is not quoted"
        )
    return _failed(f"must be a phone number (a string), not {_describe(value)}")


def _validate_usage(value: object) -> object:
    if isinstance(value, str):
        if value == UNKNOWN:
            return value
        try:
            return parse_usage(value)
        except ValueError as exc:
            return _failed(str(exc))
    if is_unknown(value):
        return value
    return _failed(f"must be one of {_USAGE_LIST} (a string), not {_describe(value)}")


def _validate_flag(value: object) -> object:
    if is_unknown(value) or isinstance(value, bool):
        return value
    return _failed(f"must be true or false, not {_describe(value)}")


def _group_ids(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    if value is None or is_unknown(value):
        return value
    try:  # _kept, inlined: this runs once per number in the mapping form
        return handler(value)
    except ValidationError as exc:
        return _wrong_form(exc)


# ---------------------------------------------------------------------------------------------
# The model


class _Missing:
    """The type of `_MISSING`; its repr keeps a stray one readable in a test's output."""

    def __repr__(self) -> str:
        return "<missing>"


#: The default of a required property, which the model's validator reports as missing.
_MISSING: Final = _Missing()

_FlowId = Annotated[
    object, PlainValidator(_validate_id("a contact flow id", "leave it out for no contact flow"))
]
_GroupId = Annotated[object, PlainValidator(_validate_id("a skill group id", "remove the empty id"))]
_GroupIds = Annotated[list[_GroupId] | None, WrapValidator(_group_ids)]
_UsageIn = Annotated[object, PlainValidator(_validate_usage)]


@with_config(ConfigDict(extra="allow"))
class _NumberSettings(TypedDict, total=False):
    """One number's own settings in the mapping form; one left out takes the resource-level one.

    A TypedDict, not a model: pydantic then returns a plain dict, about half the cost of a model
    instance at 10,000 numbers. Extras are kept, not refused, so that the settings that are valid
    still count; the binding's validator words each extra as a setting that does not exist.
    """

    usage: _UsageIn
    contact_flow_id: _FlowId
    skill_group_ids: _GroupIds


_NO_SETTINGS: Final[_NumberSettings] = {}


def _number_settings(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    if value is None:
        return _NO_SETTINGS  # {number: None}: all of the resource's settings, as {number: {}}
    if is_unknown(value):
        return value
    try:  # _kept, inlined: this runs once per number in the mapping form
        return handler(value)
    except ValidationError as exc:
        return _wrong_form(exc)


def _numbers_form(value: object) -> str | None:
    if is_unknown(value):
        return "unknown"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    return None


_UnknownNumbers = Annotated[object, PlainValidator(lambda value: value), Tag("unknown")]
_NumberList = Annotated[list[Annotated[object, PlainValidator(_validate_number)]], Tag("list")]
_PerNumber = Annotated[_NumberSettings, WrapValidator(_number_settings)]
_NumberMapping = Annotated[dict[Any, _PerNumber], Tag("mapping")]
# A discriminated union, so that an error names the form the user chose, not both forms.
_NumbersIn = Annotated[
    _UnknownNumbers | _NumberList | _NumberMapping,
    Discriminator(_numbers_form, custom_error_type="numbers_form", custom_error_message="wrong form"),
    WrapValidator(_kept),
]


class _BindingInputs(BaseModel):
    """The resource's inputs as the user wrote them; its validator runs the rules across values."""

    model_config = ConfigDict(extra="allow")  # unknown properties are worded by the validator

    instance_id: Annotated[
        object,
        PlainValidator(
            _validate_id("the id of a CCC instance", "give the id of the CCC instance to bind to")
        ),
    ] = _MISSING
    numbers: _NumbersIn = _MISSING
    usage: _UsageIn = None
    contact_flow_id: _FlowId = None
    skill_group_ids: _GroupIds = None
    adopt_existing: Annotated[object, PlainValidator(_validate_flag)] = False

    _failures: tuple[Failure, ...] = PrivateAttr(default=())
    _canonical_numbers: object = PrivateAttr(default=None)

    @property
    def failures(self) -> tuple[Failure, ...]:
        """Every failure, those of single values first, then those of the rules across values."""
        return self._failures

    @property
    def canonical_numbers(self) -> object:
        """The canonical mapping of numbers (or the unknown standing in for it) when no failure."""
        return self._canonical_numbers

    @model_validator(mode="wrap")
    @classmethod
    def _rules_across_values(
        cls, given: dict[str, Any], handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Self:
        inputs = handler(given)
        assert isinstance(inputs, cls)
        elsewhere = info.context.get(DECLARED_ELSEWHERE) if info.context else None
        rules = _Rules(inputs, given, elsewhere or {})
        inputs._failures = (*rules.own, *rules.across)
        inputs._canonical_numbers = rules.numbers
        return inputs


#: What the user may set, in the order messages list them.
INPUT_KEYS: Final = tuple(_BindingInputs.model_fields)
#: The per-number settings of the mapping form.
PER_NUMBER_KEYS: Final = tuple(_NumberSettings.__annotations__)
_PER_NUMBER_KEY_SET: Final = frozenset(PER_NUMBER_KEYS)


# ---------------------------------------------------------------------------------------------
# Paths and words


def _key_path(key: object) -> str:
    return f"numbers[{json.dumps(str(key), ensure_ascii=False)}]"


def _number_path(where: int | str) -> str:
    """The path of a number given by its list position or its mapping key."""
    return f"numbers[{where}]" if isinstance(where, int) else _key_path(where)


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


def _not_a_property(name: str) -> str:
    known = f"the properties are {', '.join(INPUT_KEYS[:-1])} and {INPUT_KEYS[-1]}"
    return f"is not a property of PhoneNumberBinding; {_hint(name, INPUT_KEYS, known)}"


def _not_a_setting(name: str) -> str:
    known = "the settings are usage, contact_flow_id and skill_group_ids"
    return f"is not a per-number setting; {_hint(name, PER_NUMBER_KEYS, known)}"


def _reason(error: ErrorDetails) -> str:
    """A plain sentence for one pydantic error; our own validators already wrote theirs."""
    kind = error["type"]
    value = error.get("input")
    if kind == "numbers_form":
        return (
            "must be a list of phone numbers or a mapping from phone number to settings,"
            f" not {_describe(value)}"
        )
    if kind == "dict_type":  # per-number settings that are not a mapping
        return (
            f"must be a mapping of settings (usage, contact_flow_id, skill_group_ids), not {_describe(value)}"
        )
    if kind == "list_type":
        return f"must be a list of skill group ids, not {_describe(value)}"
    # Not reachable from the engine's values; pydantic's own message is a sentence too.
    return f"is not valid: {error['msg']}"


def _toll_free_failure(number: str, usage: Usage, where: str) -> str:
    return f"{number} is a 400 number and can only be bound for Inbound calls, not {usage}{where}"


def _declared_elsewhere(raw: str, where: int | str, other: Any) -> Failure:
    name, other_path, other_raw = other
    shown = json.dumps(raw, ensure_ascii=False)
    spelt = "" if other_raw == raw else f" as {json.dumps(other_raw, ensure_ascii=False)}"
    return Failure(
        _number_path(where),
        f"{shown} is also declared by PhoneNumberBinding {name!r}{spelt} at {other_path}; a phone number"
        " can belong to one binding only: keep it in one of them",
    )


# ---------------------------------------------------------------------------------------------
# The rules across values


class _NumberIndex:
    """Normalised numbers seen so far, to report a second spelling of the same number.

    `elsewhere` holds the numbers that other bindings of the program declared first, as the
    resource's constructor found them (``{number: [resource name, path, spelling]}``).
    """

    def __init__(self, elsewhere: Mapping[str, Any]) -> None:
        # number → (spelling, list position or mapping key); paths are built only for failures.
        self._seen: dict[str, tuple[str, int | str]] = {}
        self._elsewhere = elsewhere

    def first(self, number: str, raw: str, where: int | str) -> Failure | None:
        """None for the first spelling of a number, else the failure for this later one."""
        earlier = self._seen.setdefault(number, (raw, where))
        if earlier[1] == where:
            other = self._elsewhere.get(number) if self._elsewhere else None
            return None if other is None else _declared_elsewhere(raw, where, other)
        earlier_raw, earlier_path = earlier[0], _number_path(earlier[1])
        path = _number_path(where)
        shown = json.dumps(raw, ensure_ascii=False)
        if earlier_raw == raw:
            return Failure(path, f"{shown} is listed twice (also at {earlier_path})")
        return Failure(
            path,
            f"{shown} and {json.dumps(earlier_raw, ensure_ascii=False)} at {earlier_path} are the same"
            f" number ({number}); list it once",
        )


class _Rules:
    """The failures of a built `_BindingInputs` and its canonical numbers.

    `own` are the failures of single values, in the order of the properties; `across` those of the
    rules across values, which skip any `_Failed` value as they skip an unknown.
    """

    def __init__(
        self, inputs: _BindingInputs, given: Mapping[str, Any], elsewhere: Mapping[str, Any]
    ) -> None:
        self.own: list[Failure] = []
        self.across: list[Failure] = []
        self._elsewhere = elsewhere
        # Sorted skill group lists by their spelling: thousands of numbers usually share a few.
        self._groups: dict[tuple[object, ...], list[object]] = {}
        self.usage = inputs.usage  # Usage, an unknown, a _Failed, or None when not given
        self.flow = inputs.contact_flow_id
        groups = inputs.skill_group_ids  # a list, None, an unknown or a _Failed
        self.groups: object = (
            self._sorted_groups(groups, lambda: "skill_group_ids")
            if groups is None or isinstance(groups, list)
            else groups
        )
        if inputs.instance_id is _MISSING:
            self.own.append(
                Failure("instance_id", "is required: give the id of the CCC instance to bind the numbers to")
            )
        self._report("instance_id", inputs.instance_id)
        self.numbers = self._numbers(inputs.numbers, given.get("numbers"))
        self._report("usage", inputs.usage)
        self._report("contact_flow_id", inputs.contact_flow_id)
        self._report_each("skill_group_ids", inputs.skill_group_ids)
        self._report("adopt_existing", inputs.adopt_existing)
        self.own.extend(Failure(str(name), _not_a_property(str(name))) for name in inputs.model_extra or ())

    def _report(self, path: str, value: object) -> None:
        if isinstance(value, _Failed):
            self.own.extend(Failure(path + where, reason) for where, reason in value.reasons)

    def _report_each(self, path: str, values: object) -> None:
        self._report(path, values)
        if isinstance(values, list):
            for index, value in enumerate(values):
                self._report(f"{path}[{index}]", value)

    def _sorted_groups(self, ids: list[object] | None, path: Callable[[], str]) -> object:
        """The canonical skill group ids (sorted), or the list as given when it holds an unknown."""
        if ids is None:
            return []
        key = tuple(ids)
        known = self._groups.get(key)
        if known is not None:
            return known
        seen: dict[object, int] = {}
        for index, group in enumerate(ids):
            if isinstance(group, _Failed) or is_unknown(group):
                continue
            if group in seen:
                shown, where = json.dumps(group, ensure_ascii=False), path()
                self.across.append(
                    Failure(f"{where}[{index}]", f"{shown} is listed twice (also at {where}[{seen[group]}])")
                )
                return ids
            seen[group] = index
        result = ids if any(is_unknown(group) for group in ids) else sorted(ids, key=str)
        self._groups[key] = result
        return result

    def _numbers(self, checked: object, raw: Any) -> object:
        """The canonical numbers mapping (or the unknown or failure standing in for it)."""
        if checked is _MISSING:
            self.own.append(Failure("numbers", "is required: list the phone numbers to bind"))
        elif isinstance(checked, list):
            return self._from_list(list(raw), checked)
        elif isinstance(checked, dict):
            return self._from_mapping(checked)
        self._report("numbers", checked)
        return checked  # unknown during preview, missing, or a failure of its form

    def _from_list(self, raw: list[Any], checked: list[object]) -> object:
        if not checked:
            self.across.append(Failure("numbers", "must list at least one phone number"))
            return {}
        usage, flow, groups = self.usage, self.flow, self.groups
        explicit = isinstance(usage, Usage)
        # Two templates: 400 numbers get Inbound when no usage is given, the others Bidirection.
        plain_value = _settings_value(usage if usage is not None else Usage.BIDIRECTION, flow, groups)
        toll_free_value = _settings_value(usage if usage is not None else Usage.INBOUND, flow, groups)
        group_list = groups if isinstance(groups, list) else None
        resolved: dict[str, dict[str, Any]] = {}
        unknown: object = None
        index = _NumberIndex(self._elsewhere)
        for position, number in enumerate(checked):
            if not isinstance(number, str):
                if isinstance(number, _Failed):  # reported, and no one's duplicate
                    self._report(f"numbers[{position}]", number)
                else:  # an unknown element: the mapping cannot be built
                    unknown = number
                continue
            duplicate = index.first(number, raw[position], position)
            if duplicate is not None:
                self.across.append(duplicate)
                continue
            template = plain_value
            if is_toll_free(number):
                if explicit and usage is not Usage.INBOUND:
                    assert isinstance(usage, Usage)
                    where = (
                        " (the usage of every number in the list); give it usage Inbound in the mapping"
                        " form of numbers"
                    )
                    failure = Failure(_number_path(position), _toll_free_failure(number, usage, where))
                    self.across.append(failure)
                    continue
                template = toll_free_value
            value = dict(template)
            if group_list is not None:
                value["skill_group_ids"] = list(group_list)  # each number its own list
            resolved[number] = value
        if unknown is not None:
            return unknown
        return {number: resolved[number] for number in sorted(resolved)}

    def _from_mapping(self, checked: dict[Any, object]) -> dict[str, Any]:
        if not checked:
            self.across.append(Failure("numbers", "must map at least one phone number to its settings"))
            return {}
        resolved: dict[str, Any] = {}
        index = _NumberIndex(self._elsewhere)
        for key, own in checked.items():  # sorted by check_inputs
            if type(own) is dict:  # the settings, validated
                if own and (not own.keys() <= _PER_NUMBER_KEY_SET or _holds_a_failure(own)):
                    self._report_settings(key, own)
            else:
                self._report(_key_path(key), own)
            if not isinstance(key, str):
                self.across.append(
                    Failure(_key_path(key), f"must be a phone number (a string), not {_describe(key)}")
                )
                continue
            try:
                number = normalize_number(key)
            except ValueError as exc:
                self.across.append(Failure(_key_path(key), str(exc)))
                continue
            duplicate = index.first(number, key, key)
            if duplicate is not None:
                self.across.append(duplicate)
            elif type(own) is not dict:
                resolved[number] = own  # unknown during preview: the settings are, the number is not
            else:
                value = self._one_number(number, key, own)
                if value is not None:
                    resolved[number] = value
        return {number: resolved[number] for number in sorted(resolved)}

    def _report_settings(self, key: object, own: dict[str, Any]) -> None:
        path, groups = _key_path(key), own.get("skill_group_ids")
        self._report(f"{path}.usage", own.get("usage"))
        self._report(f"{path}.contact_flow_id", own.get("contact_flow_id"))
        self._report_each(f"{path}.skill_group_ids", groups)
        for name in sorted((name for name in own if name not in _PER_NUMBER_KEY_SET), key=str):
            self.own.append(Failure(f"{path}.{name}", _not_a_setting(str(name))))

    def _one_number(self, number: str, key: str, own: dict[str, Any]) -> dict[str, Any] | None:
        """One number's canonical settings in the mapping form, or None after adding a failure."""
        given_usage = usage = own.get("usage")
        misspelt = usage is None and not own.keys() <= _PER_NUMBER_KEY_SET
        if misspelt and any(_means_usage(str(name)) for name in own if name not in _PER_NUMBER_KEY_SET):
            usage = _Failed()  # a misspelt usage: falling back to the resource-level one would be a guess
        if usage is None:
            usage = self.usage
        toll_free = is_toll_free(number)
        if toll_free and isinstance(usage, Usage) and usage is not Usage.INBOUND:
            if given_usage is not None:
                self.across.append(Failure(f"{_key_path(key)}.usage", _toll_free_failure(number, usage, "")))
            else:
                where = " (the resource-level usage); give this number usage Inbound"
                self.across.append(Failure(_key_path(key), _toll_free_failure(number, usage, where)))
            return None
        if usage is None:
            usage = Usage.INBOUND if toll_free else Usage.BIDIRECTION
        groups = own.get("skill_group_ids")
        if groups is None:
            groups = self.groups
        elif isinstance(groups, list):  # else an unknown or a _Failed
            groups = self._sorted_groups(groups, lambda: f"{_key_path(key)}.skill_group_ids")
        flow = own.get("contact_flow_id")
        return _settings_value(usage, self.flow if flow is None else flow, groups)


def _holds_a_failure(own: dict[str, Any]) -> bool:
    """True when one of a number's settings, or one of its skill group ids, failed its own check."""
    if any(type(value) is _Failed for value in own.values()):
        return True
    groups = own.get("skill_group_ids")
    return type(groups) is list and any(type(group) is _Failed for group in groups)


def _means_usage(setting: str) -> bool:
    """True for an unknown setting whose failure asks "did you mean usage?"."""
    return _near_miss(setting, PER_NUMBER_KEYS) == "usage"


def _relative_path(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


def _settings_value(usage: object, flow: object, groups: object) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if flow is not None:
        value["contact_flow_id"] = flow
    value["skill_group_ids"] = list(groups) if isinstance(groups, list) else groups
    value["usage"] = _USAGE_VALUES.get(usage, usage)  # a Usage as its plain string (Enum.value is slow)
    return value


# ---------------------------------------------------------------------------------------------
# check_inputs and declared_numbers


def check_inputs(news: Mapping[str, Any]) -> CheckOutcome:
    """The canonical inputs for the user's inputs, or failures naming each bad property.

    `news` may be passed straight from the engine: keys starting with ``__`` (the host's
    ``__provider``) and output-only keys are ignored and left out of the result (the host adds
    ``__provider`` back), as are ``None`` values. With failures, `inputs` holds the inputs as given.
    The one ``__`` key read is `DECLARED_ELSEWHERE`: each number in it, declared first by another
    binding of the same program, is a failure of this binding that names the other.

    One call reports every failure it can determine, so that fixing them takes one round: first
    the failures of single values (in the order of the properties in `INPUT_KEYS`, then unknown
    properties, sorted; within ``numbers``, list order or sorted keys), then the failures of the
    rules across values (a mapping key that is not a phone number, duplicate numbers, in this
    binding or with another of the program, the 400-number rule, an empty list or mapping,
    duplicate skill group ids), which read only the values that passed their own check.
    """
    # Sorted, as the mapping of numbers below, so that failures come out in the same order on every
    # run: unknown properties are reported in this order, and the engine's order is not promised.
    given = {
        key: news[key]
        for key in sorted(news, key=str)
        if news[key] is not None and not str(key).startswith("__") and key not in OUTPUT_KEYS
    }
    numbers = given.get("numbers")
    if isinstance(numbers, Mapping) and not is_unknown(numbers):
        given["numbers"] = {key: numbers[key] for key in sorted(numbers, key=str)}
    elsewhere = news.get(DECLARED_ELSEWHERE)
    context = {DECLARED_ELSEWHERE: elsewhere} if isinstance(elsewhere, Mapping) else None
    inputs = _BindingInputs.model_validate(given, context=context)
    if inputs.failures:
        return CheckOutcome(inputs=given, failures=inputs.failures)
    return CheckOutcome(
        inputs={
            "adopt_existing": inputs.adopt_existing,
            "instance_id": inputs.instance_id,
            "numbers": inputs.canonical_numbers,
        }
    )


def declared_numbers(numbers: object) -> dict[str, tuple[str, str]]:
    """The plain numbers that a `numbers` input declares: ``{number: (path, spelling)}``.

    Only strings that are phone numbers count, each number at its first spelling (check reports
    anything else); unknowns and Outputs count as nothing. The resource's constructor uses this to
    find a number declared by two bindings of one program, which check then refuses.
    """
    if isinstance(numbers, Mapping):
        spelled: list[tuple[object, int | str]] = [(key, key) for key in sorted(numbers, key=str)]
    elif isinstance(numbers, (list, tuple)):
        spelled = [(raw, position) for position, raw in enumerate(numbers)]
    else:
        return {}
    declared: dict[str, tuple[str, str]] = {}
    for raw, where in spelled:
        if isinstance(raw, str) and raw != UNKNOWN:
            try:
                number = normalize_number(raw)
            except ValueError:
                continue
            declared.setdefault(number, (_number_path(where), raw))
    return declared
