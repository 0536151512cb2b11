"""Seed files: reading and validating the JSON shape that describes an emulated CCC account.

Owns the seed-file schema (access keys, instances with contact flows and skill groups, purchased
numbers, optional bindings) and its validation into frozen values. Must not touch state or the
server: ``state.py`` loads a validated :class:`Seed`, whoever asked for it.

Shape (keys not listed are refused, so a typo does not silently drop data)::

    {"access_keys": [{"id", "secret", "security_token"?}],
     "instances": [{"id", "contact_flows": [{"id", "name", "description"?, "type"?}],
                    "skill_groups": [{"id", "name"}]}],
     "numbers": [{"number", "trunks"?, "description"?, "test_only"?, "remaining_time"?, "in_arrears"?}],
     "bindings"?: [{"number", "instance_id", "usage", "contact_flow_id"?, "skill_group_ids"?}]}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

USAGES = ("Inbound", "Outbound", "Bidirection")


class SeedError(ValueError):
    """A seed that does not have the documented shape; the message names the offending path."""


@dataclass(frozen=True)
class SeedAccessKey:
    id: str
    secret: str
    security_token: str | None = None


@dataclass(frozen=True)
class SeedContactFlow:
    id: str
    name: str
    description: str = ""
    type: str = "Mainflow"


@dataclass(frozen=True)
class SeedSkillGroup:
    id: str
    name: str


@dataclass(frozen=True)
class SeedInstance:
    id: str
    contact_flows: tuple[SeedContactFlow, ...] = ()
    skill_groups: tuple[SeedSkillGroup, ...] = ()


@dataclass(frozen=True)
class SeedNumber:
    number: str
    trunks: int = 1
    description: str = ""
    test_only: bool = False
    remaining_time: int = 0
    in_arrears: bool = False


@dataclass(frozen=True)
class SeedBinding:
    number: str
    instance_id: str
    usage: str = "Bidirection"
    contact_flow_id: str | None = None
    skill_group_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Seed:
    access_keys: tuple[SeedAccessKey, ...]
    instances: tuple[SeedInstance, ...]
    numbers: tuple[SeedNumber, ...]
    bindings: tuple[SeedBinding, ...] = ()


def load_seed(source: Mapping[str, Any] | str | os.PathLike[str] | Seed) -> Seed:
    """A validated seed from a dict in the seed-file shape, a path to a JSON seed file, or a Seed."""
    if isinstance(source, Seed):
        return source
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SeedError(f"cannot read seed file {path}: {exc}") from exc
        return parse_seed(raw)
    return parse_seed(source)


def parse_seed(raw: Any) -> Seed:
    """Validate a decoded seed document; raises SeedError naming the first bad path."""
    doc = _mapping(raw, "seed", required=("access_keys", "instances", "numbers"), optional=("bindings",))
    keys = tuple(_access_key(item, f"access_keys[{i}]") for i, item in enumerate(_list(doc, "access_keys")))
    instances = tuple(_instance(item, f"instances[{i}]") for i, item in enumerate(_list(doc, "instances")))
    numbers = tuple(_number(item, f"numbers[{i}]") for i, item in enumerate(_list(doc, "numbers")))
    bindings = tuple(
        _binding(item, f"bindings[{i}]") for i, item in enumerate(_list(doc, "bindings", default=[]))
    )
    _unique((k.id for k in keys), "access_keys", "id")
    _unique((i.id for i in instances), "instances", "id")
    _unique((n.number for n in numbers), "numbers", "number")
    _unique((b.number for b in bindings), "bindings", "number")
    by_instance = {i.id: i for i in instances}
    purchased = {n.number for n in numbers}
    for i, b in enumerate(bindings):
        where = f"bindings[{i}]"
        inst = by_instance.get(b.instance_id)
        if inst is None:
            raise SeedError(f"{where}.instance_id: unknown instance {b.instance_id!r}")
        if b.number not in purchased:
            raise SeedError(f"{where}.number: {b.number!r} is not in numbers")
        if b.contact_flow_id is not None and b.contact_flow_id not in {f.id for f in inst.contact_flows}:
            raise SeedError(f"{where}.contact_flow_id: unknown contact flow {b.contact_flow_id!r}")
        groups = {g.id for g in inst.skill_groups}
        for sg in b.skill_group_ids:
            if sg not in groups:
                raise SeedError(f"{where}.skill_group_ids: unknown skill group {sg!r}")
    return Seed(access_keys=keys, instances=instances, numbers=numbers, bindings=bindings)


def _mapping(
    raw: Any, where: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SeedError(f"{where}: expected an object, got {type(raw).__name__}")
    for key in required:
        if key not in raw:
            raise SeedError(f"{where}: missing key {key!r}")
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    return raw


def _list(doc: Mapping[str, Any], key: str, default: list[Any] | None = None) -> list[Any]:
    value = doc.get(key, default)
    if not isinstance(value, list):
        raise SeedError(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _str(doc: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = doc.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise SeedError(f"{where}.{key}: expected a non-empty string, got {value!r}")
    return value


def _opt_str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is None:
        return None
    return _str(doc, key, where)


def _bool(doc: Mapping[str, Any], key: str, where: str) -> bool:
    value = doc.get(key, False)
    if not isinstance(value, bool):
        raise SeedError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _int(doc: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = doc.get(key, default)
    # bool is an int subclass; `"trunks": true` is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SeedError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    return value


def _access_key(raw: Any, where: str) -> SeedAccessKey:
    doc = _mapping(raw, where, required=("id", "secret"), optional=("security_token",))
    return SeedAccessKey(
        id=_str(doc, "id", where),
        secret=_str(doc, "secret", where),
        security_token=_opt_str(doc, "security_token", where),
    )


def _instance(raw: Any, where: str) -> SeedInstance:
    doc = _mapping(raw, where, required=("id",), optional=("contact_flows", "skill_groups"))
    flows = []
    for i, item in enumerate(_list(doc, "contact_flows", default=[])):
        w = f"{where}.contact_flows[{i}]"
        f = _mapping(item, w, required=("id", "name"), optional=("description", "type"))
        flows.append(
            SeedContactFlow(
                id=_str(f, "id", w),
                name=_str(f, "name", w),
                description=_str(f, "description", w, default=""),
                type=_str(f, "type", w, default="Mainflow"),
            )
        )
    groups = []
    for i, item in enumerate(_list(doc, "skill_groups", default=[])):
        w = f"{where}.skill_groups[{i}]"
        g = _mapping(item, w, required=("id", "name"))
        groups.append(SeedSkillGroup(id=_str(g, "id", w), name=_str(g, "name", w)))
    _unique((f.id for f in flows), f"{where}.contact_flows", "id")
    _unique((g.id for g in groups), f"{where}.skill_groups", "id")
    return SeedInstance(id=_str(doc, "id", where), contact_flows=tuple(flows), skill_groups=tuple(groups))


def _number(raw: Any, where: str) -> SeedNumber:
    doc = _mapping(
        raw,
        where,
        required=("number",),
        optional=("trunks", "description", "test_only", "remaining_time", "in_arrears"),
    )
    return SeedNumber(
        number=_str(doc, "number", where),
        trunks=_int(doc, "trunks", where, 1),
        description=_str(doc, "description", where, default=""),
        test_only=_bool(doc, "test_only", where),
        remaining_time=_int(doc, "remaining_time", where, 0),
        in_arrears=_bool(doc, "in_arrears", where),
    )


def _binding(raw: Any, where: str) -> SeedBinding:
    doc = _mapping(
        raw,
        where,
        required=("number", "instance_id"),
        optional=("usage", "contact_flow_id", "skill_group_ids"),
    )
    usage = _str(doc, "usage", where, default="Bidirection")
    if usage not in USAGES:
        raise SeedError(f"{where}.usage: expected one of {', '.join(USAGES)}, got {usage!r}")
    groups = _list(doc, "skill_group_ids", default=[])
    if not all(isinstance(g, str) and g for g in groups):
        raise SeedError(f"{where}.skill_group_ids: expected a list of non-empty strings")
    return SeedBinding(
        number=_str(doc, "number", where),
        instance_id=_str(doc, "instance_id", where),
        usage=usage,
        contact_flow_id=_opt_str(doc, "contact_flow_id", where),
        skill_group_ids=tuple(groups),
    )


def _unique(values: Any, where: str, key: str) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise SeedError(f"{where}: duplicate {key} {v!r}")
        seen.add(v)
