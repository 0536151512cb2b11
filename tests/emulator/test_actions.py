"""Every action succeeds through the generated SDK, with the documented response shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client
from Tea.model import TeaModel

from ccc_emulator import Emulator, demo

Signed = Callable[..., Any]

INSTANCE = demo.DEMO_INSTANCE_ID


def none_fields(model: Any, path: str = "body") -> list[str]:
    """Paths of every attribute left None anywhere in an SDK response model."""
    if isinstance(model, list):
        return [p for i, item in enumerate(model) for p in none_fields(item, f"{path}[{i}]")]
    if not isinstance(model, TeaModel):
        return []
    out: list[str] = []
    for name, value in vars(model).items():
        if name.startswith("_"):
            continue
        if value is None:
            out.append(f"{path}.{name}")
        else:
            out.extend(none_fields(value, f"{path}.{name}"))
    return out


def add_bulk(client: Client, numbers: list[str], usage: str = "Bidirection", **kw: Any) -> Any:
    return client.add_bulk_phone_numbers(
        m.AddBulkPhoneNumbersRequest(instance_id=INSTANCE, phone_number=numbers, usage=usage, **kw)
    ).body


def list_numbers(client: Client, instance_id: str = INSTANCE, outbound_only: bool = False) -> Any:
    return client.list_phone_numbers(
        m.ListPhoneNumbersRequest(instance_id=instance_id, outbound_only=outbound_only)
    ).body


DOC_EXAMPLE = {
    "RequestId": "943D8EF3-3321-471F-A104-51C96FCF1D25",
    "Success": True,
    "Code": "OK",
    "Message": "",
    "HttpStatusCode": 200,
    "PhoneNumbers": {
        "PhoneNumber": [
            {
                "PhoneNumberId": "cc583e96-b6bb-4a9e-a9ff-0e2e8ac4b21d",
                "Number": "02160664656",
                "InstanceId": "d278629c-c687-4aa3-b044-4fe9b012e7ef",
                "Usage": "Bidirection",
                "AllowOutbound": True,
                "Trunks": 1,
                "TestOnly": False,
                "RemainingTime": 0,
                "PhoneNumberDescription": "Ali Telecom",
                "ContactFlow": {
                    "ContactFlowId": "2932",
                    "ContactFlowName": "Welcome",
                    "ContactFlowDescription": "Welcome",
                    "Type": "0",
                    "InstanceId": "d278629c-c687-4aa3-b044-4fe9b012e7ef",
                },
                "SkillGroups": {
                    "SkillGroup": [
                        {"SkillGroupId": "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0", "SkillGroupName": "Default"}
                    ]
                },
            }
        ]
    },
    "UserdPhoneNumbers": {"UserdPhoneNumber": []},
    "ArrearagePhoneNumbers": {"ArrearagePhoneNumber": []},
    "FailedPhoneNumbers": {"FailedPhoneNumber": []},
}


def test_doc_example_has_the_emulators_exact_shape(sdk: Client) -> None:
    """The emulator answers the documented AddBulk call with the doc example's keys, recursively."""
    body = add_bulk(
        sdk,
        [demo.landline(0)],
        contact_flow_id=demo.WELCOME_FLOW_ID,
        skill_group_id=[demo.DEFAULT_SKILL_GROUP_ID],
    )
    ours = body.to_map()

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items() if k != "RequestId"}
        if isinstance(value, list):
            return [shape(v) for v in value]
        return type(value).__name__

    assert shape(ours) == shape(DOC_EXAMPLE)
    assert none_fields(body) == []
    # And the documentation's own example parses into the same fully populated models.
    doc = m.AddBulkPhoneNumbersResponseBody().from_map(json.loads(json.dumps(DOC_EXAMPLE)))
    assert none_fields(doc) == []
    assert doc.to_map() == DOC_EXAMPLE


def test_add_bulk_binds_and_reports_every_field(sdk: Client, ccc_emulator: Emulator) -> None:
    """A bound number carries the purchased facts, the flow and the skill groups of the request."""
    body = add_bulk(
        sdk,
        [demo.landline(0), demo.landline(1)],
        contact_flow_id=demo.IVR_FLOW_ID,
        skill_group_id=[demo.SALES_SKILL_GROUP_ID, demo.SUPPORT_SKILL_GROUP_ID],
    )
    assert body.success is True
    assert body.code == "OK"
    assert body.http_status_code == 200
    bound = body.phone_numbers.phone_number
    assert [p.number for p in bound] == [demo.landline(0), demo.landline(1)]
    first = bound[0]
    assert first.instance_id == INSTANCE
    assert first.usage == "Bidirection"
    assert first.allow_outbound is True
    assert first.trunks == 2  # every tenth demo landline has two trunks
    assert first.phone_number_description == "Ali Telecom"
    assert bound[1].phone_number_description == "China Unicom"
    assert first.contact_flow.contact_flow_id == demo.IVR_FLOW_ID
    assert first.contact_flow.contact_flow_name == "IVR main menu"
    assert first.contact_flow.type == "Mainflow"
    assert [(g.skill_group_id, g.skill_group_name) for g in first.skill_groups.skill_group] == [
        (demo.SALES_SKILL_GROUP_ID, "Sales"),
        (demo.SUPPORT_SKILL_GROUP_ID, "Support"),
    ]
    assert body.userd_phone_numbers.userd_phone_number == []
    assert body.arrearage_phone_numbers.arrearage_phone_number == []
    assert body.failed_phone_numbers.failed_phone_number == []
    by_number = {b["number"]: b for b in ccc_emulator.bindings(INSTANCE)}
    assert by_number[demo.landline(0)]["phone_number_id"] == first.phone_number_id
    assert by_number[demo.landline(0)]["skill_group_ids"] == [
        demo.SALES_SKILL_GROUP_ID,
        demo.SUPPORT_SKILL_GROUP_ID,
    ]


def test_test_only_numbers_report_remaining_minutes(sdk: Client) -> None:
    """TestOnly and RemainingTime come from the purchased number."""
    (p,) = add_bulk(sdk, [demo.TEST_ONLY_NUMBERS[0]]).phone_numbers.phone_number
    assert (p.test_only, p.remaining_time, p.phone_number_description) == (True, 300, "Test number")


def test_add_phone_number_binds_one_number_without_skill_groups(sdk: Client) -> None:
    """AddPhoneNumber answers a PhoneNumber object with its contact flow and no SkillGroups."""
    body = sdk.add_phone_number(
        m.AddPhoneNumberRequest(
            instance_id=INSTANCE,
            phone_number=demo.landline(5),
            usage="Outbound",
            contact_flow_id=demo.WELCOME_FLOW_ID,
        )
    ).body
    assert body.success is True
    p = body.phone_number
    assert (p.number, p.usage, p.allow_outbound, p.instance_id) == (
        demo.landline(5),
        "Outbound",
        True,
        INSTANCE,
    )
    assert p.contact_flow.contact_flow_id == demo.WELCOME_FLOW_ID
    assert "SkillGroups" not in body.to_map()["PhoneNumber"]
    assert [n.number for n in list_numbers(sdk).phone_numbers.phone_number] == [demo.landline(5)]


def test_list_phone_numbers_lists_the_instance_in_binding_order(sdk: Client) -> None:
    """ListPhoneNumbers returns this instance's bindings only, oldest first, with the list-only fields."""
    add_bulk(sdk, [demo.landline(3)])
    add_bulk(sdk, [demo.toll_free(0)], usage="Inbound", contact_flow_id=demo.WELCOME_FLOW_ID)
    add_bulk(sdk, [demo.landline(1)], usage="Outbound")
    listed = list_numbers(sdk).phone_numbers.phone_number
    assert [p.number for p in listed] == [demo.landline(3), demo.toll_free(0), demo.landline(1)]
    assert [p.allow_outbound for p in listed] == [True, False, True]
    assert (listed[0].city, listed[0].province, listed[0].number_commodity_status) == (
        "Shanghai",
        "Shanghai",
        1,
    )
    assert listed[1].contact_flow.contact_flow_name == "Welcome"
    assert listed[1].skill_groups.skill_group == []
    other = list_numbers(sdk, demo.DEMO_INSTANCE_2_ID).phone_numbers.phone_number
    assert [(p.number, p.city) for p in other] == [(demo.PREBOUND_NUMBER, "Beijing")]


def test_list_phone_numbers_outbound_only(sdk: Client) -> None:
    """OutboundOnly=true drops Inbound and 400 numbers."""
    add_bulk(sdk, [demo.landline(0)], usage="Inbound")
    add_bulk(sdk, [demo.toll_free(1)], usage="Inbound")
    add_bulk(sdk, [demo.landline(1)], usage="Bidirection")
    add_bulk(sdk, [demo.landline(2)], usage="Outbound")
    listed = list_numbers(sdk, outbound_only=True).phone_numbers.phone_number
    assert [p.number for p in listed] == [demo.landline(1), demo.landline(2)]


def test_list_phone_numbers_of_an_empty_instance(sdk: Client) -> None:
    """An instance without bindings lists an empty PhoneNumber array (not a missing wrapper)."""
    body = list_numbers(sdk)
    assert body.to_map()["PhoneNumbers"] == {"PhoneNumber": []}


def test_modify_phone_number_replaces_settings(sdk: Client, ccc_emulator: Emulator) -> None:
    """Modify sets usage, flow and skill groups; omitting SkillGroupId and ContactFlowId clears them."""
    (p,) = add_bulk(
        sdk,
        [demo.landline(7)],
        contact_flow_id=demo.WELCOME_FLOW_ID,
        skill_group_id=[demo.DEFAULT_SKILL_GROUP_ID],
    ).phone_numbers.phone_number
    body = sdk.modify_phone_number(
        m.ModifyPhoneNumberRequest(
            instance_id=INSTANCE,
            phone_number_id=p.phone_number_id,
            usage="Inbound",
            contact_flow_id=demo.AFTER_HOURS_FLOW_ID,
            skill_group_id=[demo.SUPPORT_SKILL_GROUP_ID],
        )
    ).body
    assert body.success is True
    q = body.phone_number
    assert (q.phone_number_id, q.number, q.usage, q.allow_outbound) == (
        p.phone_number_id,
        demo.landline(7),
        "Inbound",
        False,
    )
    assert q.contact_flow.contact_flow_id == demo.AFTER_HOURS_FLOW_ID
    assert [g.skill_group_id for g in q.skill_groups.skill_group] == [demo.SUPPORT_SKILL_GROUP_ID]

    cleared = sdk.modify_phone_number(
        m.ModifyPhoneNumberRequest(instance_id=INSTANCE, phone_number_id=p.phone_number_id, usage="Outbound")
    ).body.phone_number
    assert cleared.contact_flow is None
    assert cleared.skill_groups.skill_group == []
    (b,) = ccc_emulator.bindings(INSTANCE)
    assert (b["usage"], b["contact_flow_id"], b["skill_group_ids"]) == ("Outbound", None, [])


def test_remove_phone_number_unbinds(sdk: Client, ccc_emulator: Emulator) -> None:
    """Remove answers the bare envelope and the number is free to bind again."""
    (p,) = add_bulk(sdk, [demo.landline(9)]).phone_numbers.phone_number
    body = sdk.remove_phone_number(
        m.RemovePhoneNumberRequest(instance_id=INSTANCE, phone_number_id=p.phone_number_id)
    ).body
    assert (body.success, body.code, body.http_status_code, body.message) == (True, "OK", 200, "")
    assert ccc_emulator.bindings(INSTANCE) == []
    (again,) = add_bulk(sdk, [demo.landline(9)]).phone_numbers.phone_number
    assert again.phone_number_id != p.phone_number_id


def test_list_contact_flows(sdk: Client) -> None:
    """Every flow of the instance, with the numbers that use it."""
    add_bulk(sdk, [demo.landline(0), demo.landline(1)], contact_flow_id=demo.IVR_FLOW_ID)
    body = sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE)).body
    assert body.success is True
    flows = body.contact_flows.contact_flow
    assert [(f.contact_flow_id, f.contact_flow_name, f.type) for f in flows] == [
        (demo.WELCOME_FLOW_ID, "Welcome", "Mainflow"),
        (demo.IVR_FLOW_ID, "IVR main menu", "Mainflow"),
        (demo.AFTER_HOURS_FLOW_ID, "After hours", "Mainflow"),
    ]
    assert [p.number for p in flows[1].phone_numbers.phone_number] == [demo.landline(0), demo.landline(1)]
    assert flows[0].phone_numbers.phone_number == []
    assert flows[0].applied_version == "V1"
    assert flows[0].versions.contact_flow_version[0].status == "Published"
    assert none_fields(body) == []


def test_list_skill_groups(sdk: Client) -> None:
    """Every skill group, with the outbound-capable numbers associated with it."""
    add_bulk(sdk, [demo.landline(0)], skill_group_id=[demo.SALES_SKILL_GROUP_ID])
    add_bulk(sdk, [demo.landline(1)], usage="Inbound", skill_group_id=[demo.SALES_SKILL_GROUP_ID])
    body = sdk.list_skill_groups(m.ListSkillGroupsRequest(instance_id=INSTANCE)).body
    groups = body.skill_groups.skill_group
    assert [(g.skill_group_id, g.skill_group_name, g.instance_id) for g in groups] == [
        (demo.DEFAULT_SKILL_GROUP_ID, "Default", INSTANCE),
        (demo.SALES_SKILL_GROUP_ID, "Sales", INSTANCE),
        (demo.SUPPORT_SKILL_GROUP_ID, "Support", INSTANCE),
    ]
    assert [p.number for p in groups[1].outbound_phone_numbers.phone_number] == [demo.landline(0)]
    assert none_fields(body) == []


def test_list_skill_groups_filters(signed: Signed) -> None:
    """The metadata-only SkillGroupId.N / SkillGroupName.N filters narrow the list."""
    by_id = signed(
        "ListSkillGroups",
        {"InstanceId": INSTANCE, "SkillGroupId.1": demo.SUPPORT_SKILL_GROUP_ID, "SkillGroupId.2": "nope"},
    )
    assert by_id.status == 200
    assert [g["SkillGroupName"] for g in by_id.json()["SkillGroups"]["SkillGroup"]] == ["Support"]
    by_name = signed("ListSkillGroups", {"InstanceId": INSTANCE, "SkillGroupName.1": "Default"})
    assert [g["SkillGroupId"] for g in by_name.json()["SkillGroups"]["SkillGroup"]] == [
        demo.DEFAULT_SKILL_GROUP_ID
    ]


def test_get_requests_work_like_post(signed: Signed) -> None:
    """The gateway takes GET with every parameter in the query."""
    resp = signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "FALSE"}, method="GET")
    assert resp.status == 200
    assert resp.json()["PhoneNumbers"] == {"PhoneNumber": []}


def test_booleans_are_case_insensitive_and_format_upper_case_is_accepted(signed: Signed) -> None:
    """OutboundOnly=TRUE parses; clients send True/False, aliyunsdkcore sends Format=JSON."""
    resp = signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "TRUE", "Format": "JSON"})
    assert resp.status == 200
    assert resp.headers["content-type"].startswith("application/json")
