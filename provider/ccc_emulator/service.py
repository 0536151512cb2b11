"""The CCC 2017-07-05 phone-number actions: parameter rules, business rules, success bodies.

Owns one handler per action, ``Name.N`` unflattening, parameter validation (``Missing<Name>``,
``InvalidParameter``, the batch-cap refusal), the account rules (ownership, arrears, 400 numbers,
unknown instance / flow / skill group / PhoneNumberId) and the wire JSON of every success body,
built in one place (``_phone_number`` and friends). Must not do HTTP, authentication or faults
other than the per-number rejections it is handed, and must not serialise errors: it raises
:class:`ServiceError` and ``pipeline.py`` answers.

Choices where the real service is undocumented (also listed in the emulator README):

* A phone number is well-formed if it is ``+?`` followed by 5-20 digits; anything else lands in
  ``FailedPhoneNumbers`` (AddBulk) or is ``InvalidParameter`` (AddPhoneNumber).
* Numbers are compared exactly as sent (no normalisation): ``+862160660000`` is not
  ``02160660000``.
* A 400 number (``400`` after an optional ``+86``) with a Usage other than ``Inbound`` refuses the
  whole request with ``InvalidParameter`` naming the number, since the docs say any 400 number
  forces ``Inbound`` and silently changing the usage would hide a user error.
* ModifyPhoneNumber replaces the settings wholesale: no ``ContactFlowId`` clears the contact flow,
  no ``SkillGroupId.N`` clears the skill groups.
* ListPhoneNumbers requires ``OutboundOnly`` (the metadata marks it required).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ServiceError
from .state import Binding, ContactFlow, PurchasedNumber, SkillGroup, Tx

API_VERSION = "2017-07-05"
USAGES = ("Inbound", "Outbound", "Bidirection")

#: Parameters every RPC request may carry that are not business parameters.
COMMON_PARAMS = frozenset(
    {
        "Action",
        "Format",
        "Version",
        "Timestamp",
        "SignatureNonce",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureType",
        "AccessKeyId",
        "Signature",
        "SecurityToken",
        "RegionId",
    }
)

#: The batch-cap refusal (400), unless the emulator is configured otherwise. ``{max}`` in the
#: message becomes the configured cap; a message without it names no cap at all.
DEFAULT_BATCH_CAP_CODE = "Parameter.Maximum"
DEFAULT_BATCH_CAP_MESSAGE = "The number of PhoneNumber must be less than or equal to {max}."

_NUMBER_RE = re.compile(r"^\+?[0-9]{5,20}$")
# City and province by area code, for ListPhoneNumbers' location fields (cosmetic).
_AREA_CODES = {
    "021": ("Shanghai", "Shanghai"),
    "010": ("Beijing", "Beijing"),
    "0571": ("Hangzhou", "Zhejiang"),
}


@dataclass(frozen=True)
class Call:
    """What a handler gets: the open transaction, the business parameters and the knobs."""

    tx: Tx
    params: Mapping[str, str]
    request_id: str
    max_batch_size: int
    #: Injected per-number buckets for the given numbers (see faults.Faults.rejections).
    rejections: Callable[[list[str]], dict[str, str]]
    batch_cap_code: str = DEFAULT_BATCH_CAP_CODE
    #: ``{max}`` is replaced by ``max_batch_size``.
    batch_cap_message: str = DEFAULT_BATCH_CAP_MESSAGE


Handler = Callable[[Call], dict[str, Any]]


# -- parameters ----------------------------------------------------------------------------------


def repeat_list(params: Mapping[str, str], name: str) -> list[str]:
    """``Name.1``, ``Name.2``, … in index order (gaps allowed, as the gateway does)."""
    prefix = name + "."
    items: list[tuple[int, str]] = []
    for key, value in params.items():
        if key.startswith(prefix):
            index = key[len(prefix) :]
            if index.isdigit() and not index.startswith("0"):
                items.append((int(index), value))
    return [v for _, v in sorted(items)]


def _missing(name: str) -> ServiceError:
    return ServiceError(f"Missing{name}", f"{name} is mandatory for this action.", 400)


def _invalid(name: str, detail: str = "") -> ServiceError:
    message = f'The specified parameter "{name}" is not valid.'
    return ServiceError("InvalidParameter", f"{message} {detail}" if detail else message, 400)


def _required(params: Mapping[str, str], *names: str) -> None:
    for name in names:
        # An empty value is as good as none: the gateway answers Missing<Name> for `Name=`.
        if not params.get(name):
            raise _missing(name)


def _required_list(params: Mapping[str, str], name: str) -> list[str]:
    values = repeat_list(params, name)
    if not values:
        raise _missing(name)
    return values


def _usage(params: Mapping[str, str]) -> str:
    usage = params["Usage"]
    if usage not in USAGES:
        raise _invalid("Usage")
    return usage


def parse_bool(value: str) -> bool | None:
    """``true``/``false`` in any case (clients send ``True``/``False``); None if neither."""
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    return None


def is_well_formed(number: str) -> bool:
    return _NUMBER_RE.match(number) is not None


def is_toll_free(number: str) -> bool:
    """A 400 number: ``400…`` after an optional ``+86``."""
    local = number[3:] if number.startswith("+86") else number
    return local.startswith("400")


def _check_toll_free_usage(numbers: Iterable[str], usage: str) -> None:
    if usage == "Inbound":
        return
    for n in numbers:
        if is_well_formed(n) and is_toll_free(n):
            raise _invalid("Usage", f"The 400 number {n} can only be bound with Usage Inbound.")


def allows_outbound(number: str, usage: str) -> bool:
    return usage != "Inbound" and not is_toll_free(number)


# -- account lookups -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Instance:
    id: str
    flows: dict[str, ContactFlow]
    groups: dict[str, SkillGroup]
    # Wire objects shared by every number with the same flow / skill-group set: a 10,000-number
    # listing builds each of them once (they are serialised straight away, never mutated).
    flow_wire: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups_wire: dict[tuple[str, ...], dict[str, Any]] = field(default_factory=dict)


def _instance(tx: Tx, instance_id: str) -> _Instance:
    if not tx.instance_exists(instance_id):
        raise ServiceError("NotExist.Instance", f"Call center instance '{instance_id}' does not exist", 404)
    return _Instance(
        id=instance_id,
        flows={f.id: f for f in tx.contact_flows(instance_id)},
        groups={g.id: g for g in tx.skill_groups(instance_id)},
    )


def _contact_flow(inst: _Instance, params: Mapping[str, str]) -> str | None:
    flow_id = params.get("ContactFlowId") or None
    if flow_id is not None and flow_id not in inst.flows:
        raise ServiceError("NotExist.ContactFlow", f"Contact flow '{flow_id}' does not exist", 404)
    return flow_id


def _skill_groups(inst: _Instance, params: Mapping[str, str]) -> list[str]:
    ids = list(dict.fromkeys(repeat_list(params, "SkillGroupId")))
    for sg in ids:
        if sg not in inst.groups:
            raise ServiceError("NotExist.SkillGroup", f"Skill group '{sg}' does not exist", 404)
    return ids


def _owned_binding(tx: Tx, inst: _Instance, phone_number_id: str) -> Binding:
    b = tx.binding(phone_number_id)
    # A PhoneNumberId of another instance does not exist as far as this instance is concerned.
    if b is None or b.instance_id != inst.id:
        raise ServiceError("NotExist.PhoneNumber", f"Phone number '{phone_number_id}' does not exist", 404)
    return b


# -- wire JSON (the only place success bodies are shaped) ----------------------------------------


def envelope(request_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Success": True,
        "Code": "OK",
        "Message": "",
        "HttpStatusCode": 200,
        **fields,
    }


def _contact_flow_wire(flow: ContactFlow) -> dict[str, Any]:
    return {
        "ContactFlowId": flow.id,
        "ContactFlowName": flow.name,
        "ContactFlowDescription": flow.description,
        "Type": flow.type,
        "InstanceId": flow.instance_id,
    }


def _skill_groups_wire(b: Binding, inst: _Instance) -> dict[str, Any]:
    wire = inst.groups_wire.get(b.skill_group_ids)
    if wire is None:
        groups = inst.groups
        wire = {
            "SkillGroup": [
                {"SkillGroupId": sg, "SkillGroupName": groups[sg].name if sg in groups else ""}
                for sg in b.skill_group_ids
            ]
        }
        inst.groups_wire[b.skill_group_ids] = wire
    return wire


def _location(number: str) -> tuple[str, str]:
    for code, loc in _AREA_CODES.items():
        if number.startswith(code):
            return loc
    return ("", "")


def _number_wire(b: Binding, n: PurchasedNumber) -> dict[str, Any]:
    """The fields every phone-number object shares (also the nested ones in the list actions)."""
    return {
        "PhoneNumberId": b.phone_number_id,
        "Number": b.number,
        "InstanceId": b.instance_id,
        "Usage": b.usage,
        "AllowOutbound": allows_outbound(b.number, b.usage),
        "Trunks": n.trunks,
        "TestOnly": n.test_only,
        "RemainingTime": n.remaining_time,
        "PhoneNumberDescription": n.description,
    }


def _phone_number(
    b: Binding, n: PurchasedNumber, inst: _Instance, *, skill_groups: bool = True, listing: bool = False
) -> dict[str, Any]:
    out = _number_wire(b, n)
    if listing:
        city, province = _location(b.number)
        out.update(
            {"Assignee": "", "City": city, "Province": province, "NumberCommodityStatus": 1, "SipTelX": ""}
        )
    flow_id = b.contact_flow_id
    if flow_id is not None and flow_id in inst.flows:
        flow = inst.flow_wire.get(flow_id)
        if flow is None:
            flow = inst.flow_wire[flow_id] = _contact_flow_wire(inst.flows[flow_id])
        out["ContactFlow"] = flow
    if skill_groups:
        out["SkillGroups"] = _skill_groups_wire(b, inst)
    return out


# -- handlers ------------------------------------------------------------------------------------


def add_bulk_phone_numbers(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId")
    numbers = _required_list(p, "PhoneNumber")
    _required(p, "Usage")
    usage = _usage(p)
    if len(numbers) > call.max_batch_size:
        raise ServiceError(
            call.batch_cap_code,
            # replace, not str.format: any other braces in a configured message stay as written.
            call.batch_cap_message.replace("{max}", str(call.max_batch_size)),
            400,
        )
    _check_toll_free_usage(numbers, usage)
    inst = _instance(call.tx, p["InstanceId"])
    flow_id = _contact_flow(inst, p)
    groups = _skill_groups(inst, p)

    injected = call.rejections(numbers)
    purchased = call.tx.numbers(numbers)
    bound = call.tx.bindings_by_number(numbers)
    added: list[dict[str, Any]] = []
    used: list[str] = []
    arrears: list[str] = []
    failed: list[str] = []
    for number in numbers:
        bucket = injected.get(number)
        facts = purchased.get(number)
        if bucket == "failed" or not is_well_formed(number) or facts is None:
            failed.append(number)
        elif bucket == "arrears" or facts.in_arrears:
            arrears.append(number)
        elif bucket == "used" or number in bound:
            used.append(number)
        else:
            b = call.tx.add_binding(number, inst.id, usage, flow_id, groups)
            bound[number] = b  # the same number twice in one call: the second one is "used"
            added.append(_phone_number(b, facts, inst))
    return envelope(
        call.request_id,
        PhoneNumbers={"PhoneNumber": added},
        UserdPhoneNumbers={"UserdPhoneNumber": used},
        ArrearagePhoneNumbers={"ArrearagePhoneNumber": arrears},
        FailedPhoneNumbers={"FailedPhoneNumber": failed},
    )


def add_phone_number(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId", "PhoneNumber", "Usage")
    usage = _usage(p)
    number = p["PhoneNumber"]
    if not is_well_formed(number):
        raise _invalid("PhoneNumber")
    _check_toll_free_usage([number], usage)
    inst = _instance(call.tx, p["InstanceId"])
    flow_id = _contact_flow(inst, p)
    bucket = call.rejections([number]).get(number)
    facts = call.tx.numbers([number]).get(number)
    if bucket == "failed" or facts is None:
        raise _invalid("PhoneNumber", f"The number {number} is not purchased in this account.")
    if bucket == "arrears" or facts.in_arrears:
        raise ServiceError("PhoneNumber.Arrearage", f"Phone number '{number}' is in arrears.", 400)
    if bucket == "used" or call.tx.bindings_by_number([number]):
        raise ServiceError("PhoneNumber.AlreadyUsed", f"Phone number '{number}' is already in use.", 400)
    b = call.tx.add_binding(number, inst.id, usage, flow_id, ())
    return envelope(call.request_id, PhoneNumber=_phone_number(b, facts, inst, skill_groups=False))


def list_phone_numbers(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId", "OutboundOnly")
    outbound_only = parse_bool(p["OutboundOnly"])
    if outbound_only is None:
        raise _invalid("OutboundOnly")
    inst = _instance(call.tx, p["InstanceId"])
    out = [
        _phone_number(b, n, inst, listing=True)
        for b, n in call.tx.bound_numbers(inst.id)
        if not outbound_only or allows_outbound(b.number, b.usage)
    ]
    return envelope(call.request_id, PhoneNumbers={"PhoneNumber": out})


def modify_phone_number(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId", "PhoneNumberId", "Usage")
    usage = _usage(p)
    inst = _instance(call.tx, p["InstanceId"])
    b = _owned_binding(call.tx, inst, p["PhoneNumberId"])
    flow_id = _contact_flow(inst, p)
    groups = _skill_groups(inst, p)
    _check_toll_free_usage([b.number], usage)
    b = call.tx.update_binding(b.phone_number_id, usage, flow_id, groups)
    facts = call.tx.numbers([b.number])[b.number]
    return envelope(call.request_id, PhoneNumber=_phone_number(b, facts, inst))


def remove_phone_number(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId", "PhoneNumberId")
    inst = _instance(call.tx, p["InstanceId"])
    b = _owned_binding(call.tx, inst, p["PhoneNumberId"])
    call.tx.remove_binding(b.phone_number_id)
    return envelope(call.request_id)


def list_contact_flows(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId")
    inst = _instance(call.tx, p["InstanceId"])
    by_flow: dict[str, list[dict[str, Any]]] = {f: [] for f in inst.flows}
    for b, n in call.tx.bound_numbers(inst.id):
        if b.contact_flow_id in by_flow:
            by_flow[b.contact_flow_id].append(_number_wire(b, n))
    flows = [
        {
            **_contact_flow_wire(flow),
            "AppliedVersion": "V1",
            "Versions": {
                "ContactFlowVersion": [
                    {
                        "ContactFlowVersionId": f"{flow.id}-V1",
                        "Version": "V1",
                        "ContactFlowVersionDescription": flow.description,
                        "Status": "Published",
                        "LastModified": "2017-07-05 00:00:00",
                        "LastModifiedBy": "ccc-emulator",
                        "LockedBy": "",
                    }
                ]
            },
            "PhoneNumbers": {"PhoneNumber": by_flow[flow.id]},
        }
        for flow in inst.flows.values()
    ]
    return envelope(call.request_id, ContactFlows={"ContactFlow": flows})


def list_skill_groups(call: Call) -> dict[str, Any]:
    p = call.params
    _required(p, "InstanceId")
    inst = _instance(call.tx, p["InstanceId"])
    want_ids = set(repeat_list(p, "SkillGroupId"))
    want_names = set(repeat_list(p, "SkillGroupName"))
    groups = [
        g
        for g in inst.groups.values()
        if (not want_ids or g.id in want_ids) and (not want_names or g.name in want_names)
    ]
    outbound: dict[str, list[dict[str, Any]]] = {g.id: [] for g in groups}
    for b, n in call.tx.bound_numbers(inst.id):
        if allows_outbound(b.number, b.usage):
            for sg in b.skill_group_ids:
                if sg in outbound:
                    outbound[sg].append(_number_wire(b, n))
    out = [
        {
            "SkillGroupId": g.id,
            "SkillGroupName": g.name,
            "SkillGroupDescription": g.name,
            "InstanceId": g.instance_id,
            "RoutingStrategy": "LongestIdleTime",
            "UserCount": 0,
            "AccQueueName": "",
            "AccSkillGroupName": "",
            "OutboundPhoneNumbers": {"PhoneNumber": outbound[g.id]},
        }
        for g in groups
    ]
    return envelope(call.request_id, SkillGroups={"SkillGroup": out})


ACTIONS: dict[str, Handler] = {
    "AddBulkPhoneNumbers": add_bulk_phone_numbers,
    "AddPhoneNumber": add_phone_number,
    "ListPhoneNumbers": list_phone_numbers,
    "ModifyPhoneNumber": modify_phone_number,
    "RemovePhoneNumber": remove_phone_number,
    "ListContactFlows": list_contact_flows,
    "ListSkillGroups": list_skill_groups,
}


def business_params(params: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in COMMON_PARAMS}
