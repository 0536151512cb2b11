"""The binding's values and the rules that turn a user's inputs into canonical inputs.

Owns `Usage`, `Settings` and `BindingSpec`, phone-number normalisation, `check_inputs` (the user's list
or mapping of numbers → the canonical mapping, or failures that name a property path), the canonical
form that state stores (`canonical_dict` / `spec_from_canonical`) and the comparisons `diff` needs
(`canonical_equal`, `classify_change`).

`check_inputs` checks each value with a pure-Python fast path (`_plain_args`) that only recognises
plainly valid values; anything else goes to the pydantic model in ``validation.py``, which alone
words what is wrong with a value. The rules across values (duplicates, the 400-number rule, empty
lists) and the canonical form are this module's, the same for both paths; after failures of single
values they still run over the values that passed, so that one check reports both kinds. pydantic
is imported only then: it costs the provider host's cold start ~70 ms, and the host's first Check is
usually valid.

Must not do I/O, read the clock, import the Alibaba SDK, `pulumi` or pydantic (check and diff run in
every preview and stay cheap; tests assert the imports), or use the API's PascalCase wire names.

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
"""

from __future__ import annotations

import difflib
import enum
import itertools
import json
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "CANONICAL_KEYS",
    "DECLARED_ELSEWHERE",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "UNKNOWN",
    "BindingSpec",
    "Change",
    "CheckOutcome",
    "Failure",
    "Settings",
    "Usage",
    "canonical_dict",
    "canonical_equal",
    "check_inputs",
    "classify_change",
    "contains_unknown",
    "declared_numbers",
    "is_toll_free",
    "is_unknown",
    "normalize_number",
    "parse_usage",
    "spec_from_canonical",
]

#: How the engine spells a value unknown during preview on the wire (`rpc.UNKNOWN`).
UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: What the user may set, in the order messages list them.
INPUT_KEYS: Final = (
    "instance_id",
    "numbers",
    "usage",
    "contact_flow_id",
    "skill_group_ids",
    "adopt_existing",
)
#: Output-only properties: the resource declares them, so they may arrive in `news`; check drops them.
OUTPUT_KEYS: Final = frozenset({"phone_number_ids", "number_details"})
#: The hidden input in which the resource's constructor names the numbers of this binding that
#: another binding of the same program declared first (see `declared_numbers`); check refuses them.
DECLARED_ELSEWHERE: Final = "__declared_elsewhere"
#: The keys of the canonical inputs, sorted.
CANONICAL_KEYS: Final = ("adopt_existing", "instance_id", "numbers")
_PER_NUMBER_KEYS: Final = ("usage", "contact_flow_id", "skill_group_ids")

MIN_DIGITS: Final = 5
MAX_DIGITS: Final = 20


class Usage(enum.StrEnum):
    """What calls a bound number carries; ``str()`` and f-strings give the value users write."""

    INBOUND = "Inbound"
    OUTBOUND = "Outbound"
    BIDIRECTION = "Bidirection"


_USAGE_LIST: Final = "Inbound, Outbound or Bidirection"


@dataclass(frozen=True, slots=True)
class Settings:
    """The settings of one bound number; skill group ids are kept sorted and unique."""

    usage: Usage
    contact_flow_id: str | None = None
    skill_group_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Two spellings of one set must compare (and group into batches) as equal, and a list or
        # a plain string usage from a caller must not make the value unhashable or unequal.
        ids = self.skill_group_ids
        if type(ids) is not tuple or any(a >= b for a, b in itertools.pairwise(ids)):
            object.__setattr__(self, "skill_group_ids", tuple(sorted(set(ids))))
        if type(self.usage) is not Usage:
            object.__setattr__(self, "usage", Usage(self.usage))

    @property
    def sort_key(self) -> tuple[str, bool, str, tuple[str, ...]]:
        """A total order over settings, so that batches can be ordered deterministically."""
        flow = self.contact_flow_id
        return (self.usage.value, flow is not None, flow or "", self.skill_group_ids)


@dataclass(frozen=True)
class BindingSpec:
    """What one binding declares: its instance and its numbers (normalised) with their settings."""

    instance_id: str
    numbers: Mapping[str, Settings]
    adopt_existing: bool = False

    def __post_init__(self) -> None:
        # Read-only and sorted by number, whatever the caller passed.
        object.__setattr__(self, "numbers", types.MappingProxyType(dict(sorted(self.numbers.items()))))


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
# Unknowns


def is_unknown(value: object) -> bool:
    """True for a value unknown during preview: `pulumi.output.Unknown` or the engine's sentinel."""
    if isinstance(value, str):
        return value == UNKNOWN
    # Compared by name, not isinstance, so that check does not import pulumi (and its grpc).
    cls = type(value)
    return cls.__name__ == "Unknown" and cls.__module__ == "pulumi.output"


def contains_unknown(value: object) -> bool:
    """True if the value is unknown or holds an unknown anywhere inside."""
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(contains_unknown(v) for v in value)
    return False


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
        return _raise(f"{shown} is not a phone number: it has no digits")
    bad = _BAD_CHAR.search(number)
    if bad:
        char = json.dumps(bad.group(), ensure_ascii=False)
        return _raise(
            f"{shown} is not a phone number: {char} is not allowed; write digits, with an optional"
            " leading + and spaces, dashes or parentheses between them"
        )
    if "+" in number[1:]:
        return _raise(f"{shown} is not a phone number: a + may only come first")
    digits = len(number) - number.startswith("+")
    return _raise(
        f"{shown} is not a phone number: it has {digits} digits, and a phone number has"
        f" {MIN_DIGITS} to {MAX_DIGITS}"
    )


def _raise(reason: str) -> str:
    raise ValueError(reason)


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


_USAGES_BY_LOWER: Final = {u.value.lower(): u for u in Usage}


def parse_usage(value: str) -> Usage:
    """The usage with this exact spelling; ValueError names the usage meant when it is a near miss."""
    try:
        return Usage(value)
    except ValueError:
        pass
    shown = json.dumps(value, ensure_ascii=False)
    lower = value.strip().lower()
    # The documentation itself misspells Outbound as "Outboung"; case slips are common too.
    close = difflib.get_close_matches(lower, list(_USAGES_BY_LOWER), n=1, cutoff=0.6)
    hint = f"did you mean {_USAGES_BY_LOWER[close[0]]}? Use" if close else "use"
    raise ValueError(f"{shown} is not a usage; {hint} {_USAGE_LIST}")


# ---------------------------------------------------------------------------------------------
# Checked values: what the fast path and validation.py both produce


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


_USAGES_BY_VALUE: Final = {u.value: u for u in Usage}


@dataclass(frozen=True, slots=True)
class _Overrides:
    """One number's own settings from the mapping form; None means "use the resource-level one"."""

    usage: object = None  # Usage or an unknown
    contact_flow_id: object = None
    skill_group_ids: object = None  # a list (of ids or unknowns) or an unknown


_NO_OVERRIDES: Final = _Overrides()
_PER_NUMBER_KEY_SET: Final = frozenset(_PER_NUMBER_KEYS)


def _plain_id(value: object) -> bool:
    return type(value) is str and value != "" and value == value.strip()


def _plain_overrides(value: dict[Any, Any], plain_groups: set[tuple[object, ...]]) -> _Overrides | None:
    """The overrides of a plainly valid per-number mapping, else None (validation.py then says why).

    Used by the fast path and by validation.py's per-number validator: building a pydantic model per
    number costs several microseconds, most of check's budget at 10,000 numbers, even when the model
    is needed only for one bad value elsewhere. `plain_groups` remembers the skill group lists
    already found plain during this check.
    """
    if not value.keys() <= _PER_NUMBER_KEY_SET:
        return None
    usage = value.get("usage")
    if usage is not None:
        usage = _USAGES_BY_VALUE.get(usage) if type(usage) is str else None
        if usage is None:
            return None
    flow = value.get("contact_flow_id")
    if flow is not None and not _plain_id(flow):
        return None
    groups = value.get("skill_group_ids")
    if groups is not None and not _plain_group_list(groups, plain_groups):
        return None
    return _Overrides(usage, flow, groups)


def _plain_group_list(groups: object, plain_groups: set[tuple[object, ...]]) -> bool:
    if type(groups) is not list:
        return False
    key = tuple(groups)
    try:
        if key in plain_groups:
            return True
    except TypeError:  # an unhashable element: certainly not plain
        return False
    if not all(_plain_id(g) for g in groups):
        return False
    plain_groups.add(key)
    return True


@dataclass(frozen=True, slots=True)
class _Checked:
    """The user's inputs with each value checked on its own; the rules across values come after.

    `numbers` is the list of normalised numbers (an element may be unknown), the mapping from each
    key as given to its `_Overrides` (or an unknown), or an unknown. `usage` is a `Usage`, and
    `skill_group_ids` a list; any of them may be an unknown, and None means "not given". After
    failures (validation.py), `_INVALID` stands for each value that failed, at any depth.
    """

    instance_id: object
    numbers: object
    usage: object = None
    contact_flow_id: object = None
    skill_group_ids: object = None
    adopt_existing: object = False


_INPUT_KEY_SET: Final = frozenset(INPUT_KEYS)
#: What the fast path's helpers return for a value they cannot confirm (None is a valid "not given").
_NOT_PLAIN: Final = object()


class _Invalid:
    """The type of `_INVALID`; its repr keeps a stray one readable in a test's output."""

    def __repr__(self) -> str:
        return "<invalid>"


#: Stands in a `_Checked` for a value that failed its own check (validation.py has worded why): the
#: rules across values skip it, as they skip an unknown, so that a failure is not reported twice.
_INVALID: Final = _Invalid()


def _plain_or_unknown_id(value: object) -> bool:
    return _plain_id(value) or is_unknown(value)


def _plain_args(given: dict[str, Any]) -> _Checked | None:
    """The checked inputs when every value is plainly valid, else None (validation.py then says why).

    Pure Python, so that checking plainly valid inputs (the host's first Check, most previews) never
    imports pydantic. Returns exactly what the pydantic model would, and declines anything it is not
    sure of; a property test compares the two paths.
    """
    if not given.keys() <= _INPUT_KEY_SET or not _plain_or_unknown_id(given.get("instance_id")):
        return None
    usage = _plain_usage(given.get("usage"))
    flow = given.get("contact_flow_id")
    groups = _plain_groups(given.get("skill_group_ids"))
    adopt = given.get("adopt_existing", False)
    if (
        usage is _NOT_PLAIN
        or (flow is not None and not _plain_or_unknown_id(flow))
        or groups is _NOT_PLAIN
        or (type(adopt) is not bool and not is_unknown(adopt))
    ):
        return None
    numbers = given.get("numbers")
    if type(numbers) is dict:  # check_inputs has made any mapping a dict
        numbers = _plain_mapping(numbers)
    elif type(numbers) is list or type(numbers) is tuple:
        numbers = _plain_list(numbers)
    elif numbers is None or not is_unknown(numbers):
        return None
    if numbers is _NOT_PLAIN:
        return None
    return _Checked(given["instance_id"], numbers, usage, flow, groups, adopt)


def _plain_usage(usage: object) -> object:
    if usage is None or is_unknown(usage):
        return usage
    plain = _USAGES_BY_VALUE.get(usage) if isinstance(usage, str) else None
    return _NOT_PLAIN if plain is None else plain


def _plain_groups(groups: object) -> object:
    if groups is None or is_unknown(groups):
        return groups
    if (type(groups) is list or type(groups) is tuple) and all(_plain_or_unknown_id(g) for g in groups):
        return list(groups)
    return _NOT_PLAIN


def _plain_mapping(numbers: dict[Any, Any]) -> object:
    plain_groups: set[tuple[object, ...]] = set()
    checked: dict[Any, object] = {}
    for key, value in numbers.items():
        own: object
        if type(value) is dict:
            own = _plain_overrides(value, plain_groups)
            if own is None:
                return _NOT_PLAIN
        elif value is None:
            own = _NO_OVERRIDES
        elif is_unknown(value):
            own = value
        else:
            return _NOT_PLAIN
        checked[key] = own
    return checked


def _plain_list(numbers: list[Any] | tuple[Any, ...]) -> object:
    checked: list[object] = []
    append = checked.append
    for raw in numbers:
        if type(raw) is not str:
            if not is_unknown(raw):
                return _NOT_PLAIN
            append(raw)
        elif _PLAIN_NUMBER.fullmatch(raw) or raw == UNKNOWN:
            append(raw)  # the common case, and the engine's unknown
        else:
            try:
                append(normalize_number(raw))
            except ValueError:
                return _NOT_PLAIN
    return checked


# ---------------------------------------------------------------------------------------------
# check_inputs


def _key_path(key: object) -> str:
    return f"numbers[{json.dumps(str(key), ensure_ascii=False)}]"


def _number_path(where: int | str) -> str:
    """The path of a number given by its list position or its mapping key."""
    return f"numbers[{where}]" if isinstance(where, int) else _key_path(where)


def _toll_free_failure(number: str, usage: Usage, where: str) -> str:
    return f"{number} is a 400 number and can only be bound for Inbound calls, not {usage}{where}"


class _NumberIndex:
    """Normalised numbers seen so far, to report a second spelling of the same number.

    `elsewhere` holds the numbers that other bindings of the program declared first, as
    `declared_numbers` describes them (``{number: [resource name, path, spelling]}``).
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


def _declared_elsewhere(raw: str, where: int | str, other: Any) -> Failure:
    name, other_path, other_raw = other
    shown = json.dumps(raw, ensure_ascii=False)
    spelt = "" if other_raw == raw else f" as {json.dumps(other_raw, ensure_ascii=False)}"
    return Failure(
        _number_path(where),
        f"{shown} is also declared by PhoneNumberBinding {name!r}{spelt} at {other_path}; a phone number"
        " can belong to one binding only: keep it in one of them",
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


class _Resolver:
    """Resolves validated inputs into canonical numbers, collecting the cross-field failures."""

    def __init__(self, args: _Checked, elsewhere: Mapping[str, Any]) -> None:
        self.failures: list[Failure] = []
        self._elsewhere = elsewhere
        # Sorted skill group lists by their spelling: thousands of numbers usually share a few.
        self._groups: dict[tuple[object, ...], list[object]] = {}
        self.usage = args.usage  # Usage, an unknown, or None when not given
        self.flow = args.contact_flow_id
        groups = args.skill_group_ids  # a list, None, or an unknown
        self.groups: object = (
            self._sorted_groups(groups, lambda: "skill_group_ids")
            if groups is None or isinstance(groups, list)
            else groups
        )

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
            if group is _INVALID or is_unknown(group):
                continue
            if group in seen:
                shown, where = json.dumps(group, ensure_ascii=False), path()
                self.failures.append(
                    Failure(f"{where}[{index}]", f"{shown} is listed twice (also at {where}[{seen[group]}])")
                )
                return ids
            seen[group] = index
        result = ids if any(is_unknown(group) for group in ids) else sorted(ids, key=str)
        self._groups[key] = result
        return result

    def numbers(self, checked: object, raw: Any) -> object:
        """The canonical numbers mapping (or the unknown standing in for it)."""
        if isinstance(checked, list):
            return self._from_list(list(raw), checked)
        if isinstance(checked, dict):
            return self._from_mapping(checked)
        return checked  # unknown during preview, or _INVALID after a failure

    def _from_list(self, raw: list[Any], checked: list[object]) -> object:
        if not checked:
            self.failures.append(Failure("numbers", "must list at least one phone number"))
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
            if not isinstance(number, str):  # an unknown element: the mapping cannot be built
                if number is not _INVALID:  # a failed one: already reported, and no duplicate
                    unknown = number
                continue
            duplicate = index.first(number, raw[position], position)
            if duplicate is not None:
                self.failures.append(duplicate)
                continue
            template = plain_value
            if is_toll_free(number):
                if explicit and usage is not Usage.INBOUND:
                    assert isinstance(usage, Usage)
                    where = (
                        " (the usage of every number in the list); give it usage Inbound in the mapping"
                        " form of numbers"
                    )
                    self.failures.append(
                        Failure(_number_path(position), _toll_free_failure(number, usage, where))
                    )
                    continue
                template = toll_free_value
            value = dict(template)
            if group_list is not None:
                value["skill_group_ids"] = list(group_list)  # each number its own list
            resolved[number] = value
        if unknown is not None:
            return unknown
        return {number: resolved[number] for number in sorted(resolved)}

    def _from_mapping(self, checked: dict[Any, Any]) -> dict[str, Any]:
        if not checked:
            self.failures.append(Failure("numbers", "must map at least one phone number to its settings"))
            return {}
        resolved: dict[str, Any] = {}
        index = _NumberIndex(self._elsewhere)
        for key, own in checked.items():
            if not isinstance(key, str):
                self.failures.append(
                    Failure(_key_path(key), f"must be a phone number (a string), not {_describe(key)}")
                )
                continue
            try:
                number = normalize_number(key)
            except ValueError as exc:
                self.failures.append(Failure(_key_path(key), str(exc)))
                continue
            duplicate = index.first(number, key, key)
            if duplicate is not None:
                self.failures.append(duplicate)
            elif not isinstance(own, _Overrides):
                resolved[number] = own  # unknown during preview: the settings are, the number is not
            else:
                value = self._one_number(number, key, own)
                if value is not None:
                    resolved[number] = value
        return {number: resolved[number] for number in sorted(resolved)}

    def _one_number(self, number: str, key: str, own: _Overrides) -> dict[str, Any] | None:
        """One number's canonical settings in the mapping form, or None after adding a failure."""
        usage = own.usage if own.usage is not None else self.usage
        toll_free = is_toll_free(number)
        if toll_free and isinstance(usage, Usage) and usage is not Usage.INBOUND:
            if own.usage is not None:
                self.failures.append(
                    Failure(f"{_key_path(key)}.usage", _toll_free_failure(number, usage, ""))
                )
            else:
                where = " (the resource-level usage); give this number usage Inbound"
                self.failures.append(Failure(_key_path(key), _toll_free_failure(number, usage, where)))
            return None
        if usage is None:
            usage = Usage.INBOUND if toll_free else Usage.BIDIRECTION
        groups = own.skill_group_ids
        if groups is None:
            groups = self.groups
        elif isinstance(groups, list):  # else an unknown, or _INVALID after a failure
            groups = self._sorted_groups(groups, lambda: f"{_key_path(key)}.skill_group_ids")
        flow = own.contact_flow_id if own.contact_flow_id is not None else self.flow
        return _settings_value(usage, flow, groups)


def _settings_value(usage: object, flow: object, groups: object) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if flow is not None:
        value["contact_flow_id"] = flow
    value["skill_group_ids"] = list(groups) if isinstance(groups, list) else groups
    value["usage"] = usage.value if isinstance(usage, Usage) else usage
    return value


def check_inputs(news: Mapping[str, Any]) -> CheckOutcome:
    """The canonical inputs for the user's inputs, or failures naming each bad property.

    `news` may be passed straight from the engine: keys starting with ``__`` (the host's
    ``__provider``) and output-only keys are ignored and left out of the result (the host adds
    ``__provider`` back), as are ``None`` values. With failures, `inputs` holds the inputs as given.
    The one ``__`` key read is `DECLARED_ELSEWHERE`: each number in it, declared first by another
    binding of the same program, is a failure of this binding that names the other.

    One call reports every failure it can determine, so that fixing them takes one round: first
    the failures of single values (validation.py's, in the order of the properties in `INPUT_KEYS`,
    then unknown properties; within ``numbers``, list order or sorted keys), then the failures of
    the rules across values (a mapping key that is not a phone number, duplicate numbers, in this
    binding or with another of the program, the 400-number rule, an empty list or mapping,
    duplicate skill group ids), which read only the values that passed their own check: a number
    that failed is no one's duplicate, and a failed or misspelt usage (a number's own, or the
    resource-level one it falls back to) decides no 400 number's conflict.
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
        # Sorted before validation so that failures come out in the same order on every run.
        given["numbers"] = {key: numbers[key] for key in sorted(numbers, key=str)}
    args = _plain_args(given)
    value_failures: tuple[Failure, ...] = ()
    if args is None:
        # Not plainly valid: the pydantic model finds and words what is wrong, or accepts it.
        from . import validation  # noqa: PLC0415 - pydantic would cost every host's cold start

        args, value_failures = validation.check_values(given)
    elsewhere = news.get(DECLARED_ELSEWHERE)
    resolver = _Resolver(args, elsewhere if isinstance(elsewhere, Mapping) else {})
    canonical_numbers = resolver.numbers(args.numbers, given.get("numbers"))
    if value_failures or resolver.failures:
        return CheckOutcome(inputs=given, failures=value_failures + tuple(resolver.failures))
    return CheckOutcome(
        inputs={
            "adopt_existing": args.adopt_existing,
            "instance_id": args.instance_id,
            "numbers": canonical_numbers,
        }
    )


# ---------------------------------------------------------------------------------------------
# The canonical form


def _settings_from_canonical(value: Mapping[str, Any], cache: dict[Any, Settings]) -> Settings:
    groups = value.get("skill_group_ids") or ()
    key = (value["usage"], value.get("contact_flow_id"), tuple(groups))
    settings = cache.get(key)
    if settings is None:
        # One Settings object per distinct combination: grouping and comparing are then cheap.
        settings = Settings(Usage(key[0]), key[1], key[2])
        cache[key] = settings
    return settings


def spec_from_canonical(props: Mapping[str, Any]) -> BindingSpec:
    """The spec held in canonical inputs or in outputs (whose extra keys are ignored)."""
    numbers = props["numbers"]
    # Create and update never see unknowns; this guards a caller that passes preview inputs.
    if is_unknown(props["instance_id"]) or not isinstance(numbers, Mapping):
        raise ValueError("the binding's inputs are not known yet (an unknown value from a preview)")
    cache: dict[Any, Settings] = {}
    return BindingSpec(
        instance_id=props["instance_id"],
        numbers={number: _settings_from_canonical(value, cache) for number, value in numbers.items()},
        adopt_existing=bool(props.get("adopt_existing", False)),
    )


def _settings_dict(settings: Settings) -> dict[str, Any]:
    value: dict[str, Any] = {}
    if settings.contact_flow_id is not None:
        value["contact_flow_id"] = settings.contact_flow_id
    value["skill_group_ids"] = list(settings.skill_group_ids)
    value["usage"] = settings.usage.value
    return value


def canonical_dict(spec: BindingSpec) -> dict[str, Any]:
    """The canonical inputs for a spec: the inverse of `spec_from_canonical`."""
    return {
        "adopt_existing": spec.adopt_existing,
        "instance_id": spec.instance_id,
        "numbers": {number: _settings_dict(settings) for number, settings in spec.numbers.items()},
    }


def _canonical_part(props: Mapping[str, Any]) -> tuple[object, object, object]:
    # A missing adopt_existing reads as its default, as check writes it.
    return (props.get("instance_id"), props.get("adopt_existing", False), props.get("numbers"))


def canonical_equal(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    """True when two sets of canonical inputs (or outputs) declare the same binding.

    Ignores ``__provider`` and the output-only keys. An unknown value in `news` never equals a
    stored value, because `pulumi.output.Unknown` compares by identity and state never holds the
    sentinel string; so plain equality is enough, and no walk over 10,000 numbers is needed.
    """
    return _canonical_part(olds) == _canonical_part(news)


class Change(enum.Enum):
    """What a diff between stored and new canonical inputs asks of the engine."""

    NONE = "none"
    UPDATE = "update"
    REPLACE = "replace"


def classify_change(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Change:
    """REPLACE when the instance changes (or may: unknown in preview), else UPDATE or NONE."""
    old_instance, new_instance = olds.get("instance_id"), news.get("instance_id")
    if is_unknown(new_instance) or old_instance != new_instance:
        return Change.REPLACE
    return Change.NONE if canonical_equal(olds, news) else Change.UPDATE
