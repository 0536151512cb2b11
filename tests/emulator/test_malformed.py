"""Malformed requests get a clean JSON error and the server keeps serving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client

from ccc_emulator import Emulator, demo

INSTANCE = demo.DEMO_INSTANCE_ID
Send = Callable[..., Any]
NOT_FOUND = (404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")


def error(resp: Any) -> tuple[int, str, str]:
    body = resp.json()
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    return resp.status, body["Code"], body["Message"]


@pytest.fixture
def still_serving(sdk: Client, ccc_emulator: Emulator) -> Any:
    """After the test: a normal SDK call still succeeds and every request was journaled."""
    yield
    body = sdk.list_phone_numbers(m.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False)).body
    assert body.success is True


@pytest.mark.usefixtures("still_serving")
def test_no_action(signed: Send) -> None:
    """A signed request without Action: MissingAction."""
    assert error(signed(None, {"InstanceId": INSTANCE})) == (
        400,
        "MissingAction",
        "Action is mandatory for this action.",
    )


@pytest.mark.usefixtures("still_serving")
def test_unknown_action(signed: Send, ccc_emulator: Emulator) -> None:
    """An action this API does not have: InvalidAction.NotFound 404 (journaled under its name)."""
    assert error(signed("DescribeInstances", {"InstanceId": INSTANCE})) == NOT_FOUND
    assert [(e.action, e.code) for e in ccc_emulator.journal] == [
        ("DescribeInstances", "InvalidAction.NotFound")
    ]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("version", ["2020-07-01", "2017-07-06", "latest"])
def test_wrong_version(signed: Send, version: str) -> None:
    """Any Version but 2017-07-05: InvalidVersion."""
    assert error(signed("ListPhoneNumbers", {"InstanceId": INSTANCE}, version=version)) == (
        400,
        "InvalidVersion",
        "Specified parameter Version is not valid.",
    )


@pytest.mark.usefixtures("still_serving")
def test_missing_version(signed: Send) -> None:
    """No Version at all: MissingVersion."""
    assert error(signed("ListPhoneNumbers", {"InstanceId": INSTANCE}, version=None)) == (
        400,
        "MissingVersion",
        "Version is mandatory for this action.",
    )


@pytest.mark.usefixtures("still_serving")
def test_wrong_path_and_method(signed: Send) -> None:
    """The API lives at / with GET or POST only."""
    assert (
        error(signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "false"}, path="/v1"))
        == NOT_FOUND
    )
    assert (
        error(signed("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": "false"}, method="PUT"))
        == NOT_FOUND
    )


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"InstanceId=%ZZ", "The request body is not valid form encoding: bad percent escape."),
        (b"InstanceId=a%2", "The request body is not valid form encoding: bad percent escape."),
        (b"InstanceId=a&&Usage", "The request body is not valid form encoding: bad query field: ''."),
        (b"InstanceId=a&Usage", "The request body is not valid form encoding: bad query field: 'Usage'."),
        (b"InstanceId=\xff\xfe", "The request body is not valid UTF-8."),
        (b"InstanceId=%FF%FE", "The request body is not valid UTF-8."),
    ],
)
def test_broken_form_bodies(raw: Send, body: bytes, message: str) -> None:
    """Bad escapes, empty or '='-less fields and invalid UTF-8 (raw or escaped) are InvalidParameter."""
    resp = raw(
        query="Action=ListPhoneNumbers&Version=2017-07-05",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error(resp) == (400, "InvalidParameter", message)


@pytest.mark.usefixtures("still_serving")
def test_invalid_utf8_in_the_query(raw: Send) -> None:
    """An escaped invalid UTF-8 sequence in the query string is refused the same way."""
    resp = raw(query="Action=ListPhoneNumbers&InstanceId=%C3%28")
    assert error(resp) == (400, "InvalidParameter", "The query string is not valid UTF-8.")


@pytest.mark.usefixtures("still_serving")
def test_ten_megabyte_body(raw: Send, ccc_emulator: Emulator) -> None:
    """A 10 MB body is refused with 413 after being drained, so the client reads the answer."""
    body = b"InstanceId=" + b"1" * (10 * 1024 * 1024)
    resp = raw(
        query="Action=ListPhoneNumbers&Version=2017-07-05",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error(resp) == (
        413,
        "RequestEntityTooLarge",
        "The request body is larger than the limit of 1048576 bytes.",
    )
    entry = ccc_emulator.journal[-1]
    assert (entry.action, entry.http_status, entry.code) == ("ListPhoneNumbers", 413, "RequestEntityTooLarge")


@pytest.mark.usefixtures("still_serving")
def test_unsigned_request(raw: Send) -> None:
    """No signature at all: the auth layer's MissingSignature, as JSON."""
    assert error(raw(method="POST", path="/"))[:2] == (400, "MissingSignature")


@pytest.mark.usefixtures("still_serving")
def test_json_bodies_are_not_parameters(signed: Send) -> None:
    """A JSON body is not read for parameters (the clients send forms), so InstanceId is missing."""
    resp = signed("ListContactFlows", json_body={"InstanceId": INSTANCE})
    assert error(resp) == (400, "MissingInstanceId", "InstanceId is mandatory for this action.")


@pytest.mark.usefixtures("still_serving")
def test_percent_in_values_is_decoded_once(signed: Send) -> None:
    """The raw query is decoded exactly once: %2541 arrives as the three characters %41."""
    resp = signed(
        "AddBulkPhoneNumbers",
        {
            "InstanceId": INSTANCE,
            "PhoneNumber.1": demo.landline(0),
            "Usage": "Inbound",
            "ContactFlowId": "a%41",
        },
        method="GET",
    )
    assert error(resp) == (404, "NotExist.ContactFlow", "Contact flow 'a%41' does not exist")
