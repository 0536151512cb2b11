"""The binding's values and their canonical form: what state stores and what diff compares.

Owns `Usage`, `Settings` and `BindingSpec`, the engine's spelling of a value unknown during
preview (`UNKNOWN`, `is_unknown`), the canonical form of a binding's inputs that check returns and
state stores (`canonical_dict` / `spec_from_canonical`, described in docs/contracts.md) and the
comparisons `diff` needs (`canonical_equal`, `classify_change`). The user's inputs and the rules
they obey are ``validation.py``'s, which builds the canonical form this module reads.

Must not do I/O, read the clock, import the Alibaba SDK, `pulumi` or pydantic (plan, executor and
diff read these values; check and diff run in every preview), or use the API's PascalCase wire
names.
"""

from __future__ import annotations

import enum
import itertools
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "CANONICAL_KEYS",
    "UNKNOWN",
    "BindingSpec",
    "Change",
    "Settings",
    "Usage",
    "canonical_dict",
    "canonical_equal",
    "classify_change",
    "is_unknown",
    "spec_from_canonical",
]

#: How the engine spells a value unknown during preview on the wire (`rpc.UNKNOWN`).
UNKNOWN: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
#: The keys of the canonical inputs, sorted.
CANONICAL_KEYS: Final = ("adopt_existing", "instance_id", "numbers")


class Usage(enum.StrEnum):
    """What calls a bound number carries; ``str()`` and f-strings give the value users write."""

    INBOUND = "Inbound"
    OUTBOUND = "Outbound"
    BIDIRECTION = "Bidirection"


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


def is_unknown(value: object) -> bool:
    """True for a value unknown during preview: `pulumi.output.Unknown` or the engine's sentinel."""
    if isinstance(value, str):
        return value == UNKNOWN
    # Compared by name, not isinstance, so that check does not import pulumi (and its grpc).
    cls = type(value)
    return cls.__name__ == "Unknown" and cls.__module__ == "pulumi.output"


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
