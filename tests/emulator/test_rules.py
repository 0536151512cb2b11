"""Business rules through the generated SDK: exact per-number buckets, codes, messages and statuses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

from ccc_emulator import Emulator, demo

INSTANCE = demo.DEMO_INSTANCE_ID
Signed = Callable[..., Any]


def add_bulk(client: Client, numbers: list[str], usage: str | None = "Bidirection", **kw: Any) -> Any:
    return client.add_bulk_phone_numbers(
        m.AddBulkPhoneNumbersRequest(
            instance_id=kw.pop("instance_id", INSTANCE), phone_number=numbers, usage=usage, **kw
        )
    ).body


def buckets(body: Any) -> dict[str, list[str]]:
    return {
        "bound": [p.number for p in body.phone_numbers.phone_number],
        "used": body.userd_phone_numbers.userd_phone_number,
        "arrears": body.arrearage_phone_numbers.arrearage_phone_number,
        "failed": body.failed_phone_numbers.failed_phone_number,
    }


def api_error(call: Callable[[], Any]) -> tuple[int, str, str]:
    """(HTTP status, Code, Message) of the error the SDK raised."""
    with pytest.raises(ClientException) as info:
        call()
    e = info.value
    return e.status_code, e.code, e.data["Message"]


def test_per_number_buckets(sdk: Client, ccc_emulator: Emulator) -> None:
    """Malformed / not purchased → failed, arrears → arrears, bound anywhere → used, the rest bound."""
    body = add_bulk(
        sdk,
        [
            demo.landline(0),
            "02199999999",  # well-formed, not purchased
            "0571 8888 0002",  # malformed (spaces)
            demo.ARREARS_NUMBERS[0],
            demo.PREBOUND_NUMBER,  # bound to the other instance
            demo.landline(1),
        ],
    )
    assert body.success is True
    assert buckets(body) == {
        "bound": [demo.landline(0), demo.landline(1)],
        "used": [demo.PREBOUND_NUMBER],
        "arrears": [demo.ARREARS_NUMBERS[0]],
        "failed": ["02199999999", "0571 8888 0002"],
    }
    assert sorted(b["number"] for b in ccc_emulator.bindings(INSTANCE)) == [
        demo.landline(0),
        demo.landline(1),
    ]


def test_a_number_bound_to_the_same_instance_is_used(sdk: Client) -> None:
    """Re-adding a number already bound here lands in UserdPhoneNumbers, unchanged."""
    add_bulk(sdk, [demo.landline(0)], usage="Inbound")
    body = add_bulk(sdk, [demo.landline(0), demo.landline(1)], usage="Outbound")
    assert buckets(body) == {
        "bound": [demo.landline(1)],
        "used": [demo.landline(0)],
        "arrears": [],
        "failed": [],
    }


def test_the_same_number_twice_in_one_call(sdk: Client, ccc_emulator: Emulator) -> None:
    """The first occurrence binds, the second is already used."""
    body = add_bulk(sdk, [demo.landline(4), demo.landline(4)])
    assert buckets(body) == {
        "bound": [demo.landline(4)],
        "used": [demo.landline(4)],
        "arrears": [],
        "failed": [],
    }
    assert len(ccc_emulator.bindings(INSTANCE)) == 1


def test_a_number_is_bound_to_at_most_one_instance(sdk: Client, ccc_emulator: Emulator) -> None:
    """A number bound to instance 1 cannot be bound to instance 2."""
    add_bulk(sdk, [demo.landline(0)])
    body = add_bulk(sdk, [demo.landline(0)], instance_id=demo.DEMO_INSTANCE_2_ID)
    assert buckets(body)["used"] == [demo.landline(0)]
    assert [b["instance_id"] for b in ccc_emulator.bindings() if b["number"] == demo.landline(0)] == [
        INSTANCE
    ]


def test_numbers_are_not_normalised(sdk: Client) -> None:
    """+86 forms are different strings: not purchased, so failed."""
    body = add_bulk(sdk, ["+862160660000"])
    assert buckets(body)["failed"] == ["+862160660000"]


def test_400_numbers_bind_inbound_only(sdk: Client) -> None:
    """A 400 number binds with Usage Inbound and never allows outbound calls."""
    (p,) = add_bulk(sdk, [demo.toll_free(0)], usage="Inbound").phone_numbers.phone_number
    assert (p.usage, p.allow_outbound, p.trunks) == ("Inbound", False, 10)


@pytest.mark.parametrize("usage", ["Bidirection", "Outbound"])
def test_400_numbers_with_other_usage_refuse_the_whole_request(
    sdk: Client, ccc_emulator: Emulator, usage: str
) -> None:
    """InvalidParameter naming the 400 number; nothing bound, not even the landline."""
    status, code, message = api_error(
        lambda: add_bulk(sdk, [demo.landline(0), demo.toll_free(3)], usage=usage)
    )
    assert (status, code) == (400, "InvalidParameter")
    assert message == (
        'The specified parameter "Usage" is not valid. '
        "The 400 number 4001000003 can only be bound with Usage Inbound."
    )
    assert ccc_emulator.bindings(INSTANCE) == []


def test_unknown_instance(sdk: Client) -> None:
    """NotExist.Instance 404 with the documented message, for every action."""
    expected = (404, "NotExist.Instance", "Call center instance 'no-such-instance' does not exist")
    assert api_error(lambda: add_bulk(sdk, [demo.landline(0)], instance_id="no-such-instance")) == expected
    assert (
        api_error(
            lambda: sdk.list_phone_numbers(
                m.ListPhoneNumbersRequest(instance_id="no-such-instance", outbound_only=False)
            )
        )
        == expected
    )
    assert (
        api_error(lambda: sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id="no-such-instance")))
        == expected
    )
    assert (
        api_error(lambda: sdk.list_skill_groups(m.ListSkillGroupsRequest(instance_id="no-such-instance")))
        == expected
    )
    assert (
        api_error(
            lambda: sdk.remove_phone_number(
                m.RemovePhoneNumberRequest(instance_id="no-such-instance", phone_number_id="x")
            )
        )
        == expected
    )


def test_unknown_contact_flow(sdk: Client, ccc_emulator: Emulator) -> None:
    """NotExist.ContactFlow 404; a flow of another instance is unknown here too; nothing bound."""
    assert api_error(lambda: add_bulk(sdk, [demo.landline(0)], contact_flow_id=demo.INSTANCE_2_FLOW_ID)) == (
        404,
        "NotExist.ContactFlow",
        f"Contact flow '{demo.INSTANCE_2_FLOW_ID}' does not exist",
    )
    assert ccc_emulator.bindings(INSTANCE) == []


def test_unknown_skill_group(sdk: Client, ccc_emulator: Emulator) -> None:
    """NotExist.SkillGroup 404 naming the first unknown group; nothing bound."""
    assert api_error(
        lambda: add_bulk(sdk, [demo.landline(0)], skill_group_id=[demo.DEFAULT_SKILL_GROUP_ID, "sg-missing"])
    ) == (404, "NotExist.SkillGroup", "Skill group 'sg-missing' does not exist")
    assert ccc_emulator.bindings(INSTANCE) == []


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [
        ({"instance_id": None}, "InstanceId"),
        ({"phone_number": None}, "PhoneNumber"),
        ({"phone_number": []}, "PhoneNumber"),
        ({"usage": None}, "Usage"),
        ({"instance_id": ""}, "InstanceId"),
    ],
)
def test_add_bulk_missing_parameters(sdk: Client, kwargs: dict[str, Any], missing: str) -> None:
    """Missing<Name> 400 with the gateway's message."""
    args: dict[str, Any] = {
        "instance_id": INSTANCE,
        "phone_number": [demo.landline(0)],
        "usage": "Inbound",
        **kwargs,
    }
    assert api_error(lambda: sdk.add_bulk_phone_numbers(m.AddBulkPhoneNumbersRequest(**args))) == (
        400,
        f"Missing{missing}",
        f"{missing} is mandatory for this action.",
    )


@pytest.mark.parametrize("usage", ["Outboung", "inbound", "Both"])
def test_unknown_usage(sdk: Client, ccc_emulator: Emulator, usage: str) -> None:
    """Usage outside Inbound/Outbound/Bidirection (case-sensitive, typo included) is InvalidParameter."""
    assert api_error(lambda: add_bulk(sdk, [demo.landline(0)], usage=usage)) == (
        400,
        "InvalidParameter",
        'The specified parameter "Usage" is not valid.',
    )
    assert ccc_emulator.bindings(INSTANCE) == []


def test_batch_over_the_cap_is_refused_whole(sdk: Client, ccc_emulator: Emulator) -> None:
    """101 numbers: Parameter.Maximum 400 naming the cap; 100 are fine."""
    numbers = [demo.landline(i) for i in range(101)]
    assert api_error(lambda: add_bulk(sdk, numbers)) == (
        400,
        "Parameter.Maximum",
        "The number of PhoneNumber must be less than or equal to 100.",
    )
    assert ccc_emulator.bindings(INSTANCE) == []
    assert len(add_bulk(sdk, numbers[:100]).phone_numbers.phone_number) == 100


def test_batch_cap_is_configurable(sdk: Client, ccc_emulator: Emulator) -> None:
    """The cap follows emu.max_batch_size (and the message names it)."""
    ccc_emulator.max_batch_size = 3
    assert api_error(lambda: add_bulk(sdk, [demo.landline(i) for i in range(4)])) == (
        400,
        "Parameter.Maximum",
        "The number of PhoneNumber must be less than or equal to 3.",
    )
    assert len(add_bulk(sdk, [demo.landline(i) for i in range(3)]).phone_numbers.phone_number) == 3


def test_batch_cap_code_and_message_are_configurable(sdk: Client, ccc_emulator: Emulator) -> None:
    """batch_cap_code / batch_cap_message set the refusal; {max} in the message becomes the cap."""
    ccc_emulator.max_batch_size = 2
    ccc_emulator.batch_cap_code = "InvalidParameter.TooMany"
    ccc_emulator.batch_cap_message = "At most {max} numbers per call, {not a placeholder}."
    assert api_error(lambda: add_bulk(sdk, [demo.landline(i) for i in range(3)])) == (
        400,
        "InvalidParameter.TooMany",
        "At most 2 numbers per call, {not a placeholder}.",
    )
    assert ccc_emulator.bindings(INSTANCE) == []
    (entry,) = ccc_emulator.journal
    assert (entry.http_status, entry.code, entry.ok, entry.fault) == (
        400,
        "InvalidParameter.TooMany",
        False,
        None,
    )


def test_batch_cap_message_may_name_no_cap(sdk: Client, ccc_emulator: Emulator) -> None:
    """A message without {max} is sent as written; the default code stays Parameter.Maximum."""
    ccc_emulator.max_batch_size = 30
    ccc_emulator.batch_cap_message = "Too many phone numbers."
    assert api_error(lambda: add_bulk(sdk, [demo.landline(i) for i in range(31)])) == (
        400,
        "Parameter.Maximum",
        "Too many phone numbers.",
    )
    assert len(add_bulk(sdk, [demo.landline(i) for i in range(30)]).phone_numbers.phone_number) == 30


def test_batch_cap_settings_from_the_constructor(ccc_emulator: Emulator) -> None:
    """Emulator(batch_cap_code=..., batch_cap_message=...) are the values reset() returns to.

    (The ``ccc_emulator`` fixture is asked for only to clear the proxy variables.)
    """
    with Emulator(
        max_batch_size=1, batch_cap_code="Parameter.Exceeded", batch_cap_message="No more than {max}."
    ) as emu:
        client = Client(
            Config(
                endpoint=emu.endpoint,
                protocol="http",
                access_key_id=demo.DEMO_ACCESS_KEY_ID,
                access_key_secret=demo.DEMO_ACCESS_KEY_SECRET,
            )
        )
        expected = (400, "Parameter.Exceeded", "No more than 1.")
        assert api_error(lambda: add_bulk(client, [demo.landline(0), demo.landline(1)])) == expected
        emu.batch_cap_code = "Other"
        emu.batch_cap_message = "changed"
        emu.reset()
        assert (emu.batch_cap_code, emu.batch_cap_message) == ("Parameter.Exceeded", "No more than {max}.")
        assert api_error(lambda: add_bulk(client, [demo.landline(0), demo.landline(1)])) == expected


def test_bad_batch_cap_settings_are_refused(ccc_emulator: Emulator) -> None:
    """An empty or non-string code, a non-string message and a cap below 1 raise ValueError."""
    with pytest.raises(ValueError, match=r"^batch_cap_code must be a non-empty string, got ''$"):
        ccc_emulator.batch_cap_code = ""
    with pytest.raises(ValueError, match=r"^batch_cap_message must be a string, got None$"):
        ccc_emulator.batch_cap_message = None  # type: ignore[assignment]
    with pytest.raises(ValueError, match=r"^max_batch_size must be at least 1, got 0$"):
        ccc_emulator.max_batch_size = 0
    with pytest.raises(ValueError, match=r"^batch_cap_code must be a non-empty string, got ''$"):
        Emulator(batch_cap_code="")
    assert (ccc_emulator.batch_cap_code, ccc_emulator.batch_cap_message, ccc_emulator.max_batch_size) == (
        "Parameter.Maximum",
        "The number of PhoneNumber must be less than or equal to {max}.",
        100,
    )


def test_modify_and_remove_unknown_phone_number_id(sdk: Client) -> None:
    """NotExist.PhoneNumber 404 for an id that never existed."""
    expected = (404, "NotExist.PhoneNumber", "Phone number 'pn-nope' does not exist")
    assert (
        api_error(
            lambda: sdk.modify_phone_number(
                m.ModifyPhoneNumberRequest(instance_id=INSTANCE, phone_number_id="pn-nope", usage="Inbound")
            )
        )
        == expected
    )
    assert (
        api_error(
            lambda: sdk.remove_phone_number(
                m.RemovePhoneNumberRequest(instance_id=INSTANCE, phone_number_id="pn-nope")
            )
        )
        == expected
    )


def test_phone_number_id_of_another_instance_does_not_exist_here(sdk: Client, ccc_emulator: Emulator) -> None:
    """Removing instance 2's binding through instance 1 is NotExist.PhoneNumber and leaves it bound."""
    (other,) = ccc_emulator.bindings(demo.DEMO_INSTANCE_2_ID)
    pid = other["phone_number_id"]
    assert api_error(
        lambda: sdk.remove_phone_number(m.RemovePhoneNumberRequest(instance_id=INSTANCE, phone_number_id=pid))
    ) == (404, "NotExist.PhoneNumber", f"Phone number '{pid}' does not exist")
    assert ccc_emulator.bindings(demo.DEMO_INSTANCE_2_ID) == [other]


def test_remove_twice(sdk: Client) -> None:
    """A second remove of the same PhoneNumberId is NotExist.PhoneNumber (the provider: done)."""
    (p,) = add_bulk(sdk, [demo.landline(0)]).phone_numbers.phone_number
    req = m.RemovePhoneNumberRequest(instance_id=INSTANCE, phone_number_id=p.phone_number_id)
    sdk.remove_phone_number(req)
    assert api_error(lambda: sdk.remove_phone_number(req))[:2] == (404, "NotExist.PhoneNumber")


def test_modify_rules(sdk: Client, ccc_emulator: Emulator) -> None:
    """Modify checks usage, flow, skill groups and the 400 rule, and changes nothing when refused."""
    (p,) = add_bulk(sdk, [demo.toll_free(2)], usage="Inbound").phone_numbers.phone_number

    def modify(**kw: Any) -> Any:
        args = {"instance_id": INSTANCE, "phone_number_id": p.phone_number_id, "usage": "Inbound", **kw}
        return sdk.modify_phone_number(m.ModifyPhoneNumberRequest(**args))

    assert api_error(lambda: modify(usage="Bidirection")) == (
        400,
        "InvalidParameter",
        'The specified parameter "Usage" is not valid. '
        "The 400 number 4001000002 can only be bound with Usage Inbound.",
    )
    assert api_error(lambda: modify(usage="Sideways")) == (
        400,
        "InvalidParameter",
        'The specified parameter "Usage" is not valid.',
    )
    assert api_error(lambda: modify(usage=None)) == (
        400,
        "MissingUsage",
        "Usage is mandatory for this action.",
    )
    assert api_error(lambda: modify(phone_number_id=None)) == (
        400,
        "MissingPhoneNumberId",
        "PhoneNumberId is mandatory for this action.",
    )
    assert api_error(lambda: modify(contact_flow_id="cf-x"))[1] == "NotExist.ContactFlow"
    assert api_error(lambda: modify(skill_group_id=["sg-x"]))[1] == "NotExist.SkillGroup"
    (b,) = ccc_emulator.bindings(INSTANCE)
    assert (b["usage"], b["contact_flow_id"], b["skill_group_ids"]) == ("Inbound", None, [])


def test_list_phone_numbers_requires_outbound_only(signed: Signed) -> None:
    """OutboundOnly is required (metadata) and must be a boolean."""
    resp = signed("ListPhoneNumbers", {"InstanceId": INSTANCE})
    assert (resp.status, resp.json()["Code"], resp.json()["Message"]) == (
        400,
        "MissingOutboundOnly",
        "OutboundOnly is mandatory for this action.",
    )
    resp = signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "maybe"})
    assert (resp.status, resp.json()["Code"], resp.json()["Message"]) == (
        400,
        "InvalidParameter",
        'The specified parameter "OutboundOnly" is not valid.',
    )


def test_add_phone_number_rules(sdk: Client, ccc_emulator: Emulator) -> None:
    """AddPhoneNumber has no per-number lists, so each rejection is an error (codes are our choice)."""

    def add(number: str, usage: str = "Bidirection") -> Any:
        return sdk.add_phone_number(
            m.AddPhoneNumberRequest(instance_id=INSTANCE, phone_number=number, usage=usage)
        )

    assert api_error(lambda: add("12-34")) == (
        400,
        "InvalidParameter",
        'The specified parameter "PhoneNumber" is not valid.',
    )
    assert api_error(lambda: add("02199999999")) == (
        400,
        "InvalidParameter",
        'The specified parameter "PhoneNumber" is not valid. '
        "The number 02199999999 is not purchased in this account.",
    )
    assert api_error(lambda: add(demo.ARREARS_NUMBERS[1])) == (
        400,
        "PhoneNumber.Arrearage",
        f"Phone number '{demo.ARREARS_NUMBERS[1]}' is in arrears.",
    )
    assert api_error(lambda: add(demo.PREBOUND_NUMBER)) == (
        400,
        "PhoneNumber.AlreadyUsed",
        f"Phone number '{demo.PREBOUND_NUMBER}' is already in use.",
    )
    assert api_error(lambda: add(demo.toll_free(0)))[:2] == (400, "InvalidParameter")
    assert ccc_emulator.bindings(INSTANCE) == []
