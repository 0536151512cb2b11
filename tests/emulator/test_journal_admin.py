"""The request journal, the error body, the admin endpoints and the out-of-band Python API."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from alibabacloud_ccc20170705 import models as m
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException, ThrottlingException

from ccc_emulator import ADMIN_PREFIX, Emulator, demo

INSTANCE = demo.DEMO_INSTANCE_ID
Raw = Callable[..., Any]


def add_bulk(client: Client, numbers: list[str]) -> Any:
    return client.add_bulk_phone_numbers(
        m.AddBulkPhoneNumbersRequest(instance_id=INSTANCE, phone_number=numbers, usage="Bidirection")
    ).body


def admin(raw: Raw, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
    body = b"" if payload is None else json.dumps(payload).encode()
    resp = raw(
        method=method, path=ADMIN_PREFIX + path, body=body, headers={"Content-Type": "application/json"}
    )
    return resp.status, resp.json()


def test_journal_records_each_call_without_secrets(
    ccc_emulator: Emulator, client_for: Callable[..., Client]
) -> None:
    """Params are kept (AccessKeyId included) but never Signature or SecurityToken."""
    sts = client_for(
        demo.DEMO_STS_ACCESS_KEY_ID,
        demo.DEMO_STS_ACCESS_KEY_SECRET,
        security_token=demo.DEMO_STS_SECURITY_TOKEN,
    )
    add_bulk(sts, [demo.landline(0), demo.landline(1)])
    (entry,) = ccc_emulator.journal
    assert (entry.seq, entry.action, entry.http_status, entry.code, entry.ok, entry.fault) == (
        entry.seq,
        "AddBulkPhoneNumbers",
        200,
        "OK",
        True,
        None,
    )
    assert entry.params["AccessKeyId"] == demo.DEMO_STS_ACCESS_KEY_ID
    assert entry.params["PhoneNumber.2"] == demo.landline(1)
    assert "Signature" not in entry.params
    assert "SecurityToken" not in entry.params
    flat = json.dumps(entry.to_dict())
    assert demo.DEMO_STS_SECURITY_TOKEN not in flat
    assert demo.DEMO_STS_ACCESS_KEY_SECRET not in flat


def test_journal_counts_every_outcome(ccc_emulator: Emulator, client_for: Callable[..., Client]) -> None:
    """Refused calls (bad signature, business errors) are journaled with their code and status."""
    good, bad = client_for(), client_for(secret="wrong-secret")
    add_bulk(good, [demo.landline(0)])
    with pytest.raises(ClientException):
        add_bulk(bad, [demo.landline(1)])
    with pytest.raises(ClientException):
        good.remove_phone_number(m.RemovePhoneNumberRequest(instance_id=INSTANCE, phone_number_id="nope"))
    assert [(e.action, e.http_status, e.code, e.ok) for e in ccc_emulator.journal] == [
        ("AddBulkPhoneNumbers", 200, "OK", True),
        ("AddBulkPhoneNumbers", 400, "SignatureDoesNotMatch", False),
        ("RemovePhoneNumber", 404, "NotExist.PhoneNumber", False),
    ]
    assert ccc_emulator.calls() == 3
    assert ccc_emulator.calls("AddBulkPhoneNumbers") == 2
    assert ccc_emulator.calls("ListPhoneNumbers") == 0
    ccc_emulator.clear_journal()
    assert (ccc_emulator.journal, ccc_emulator.calls()) == ([], 0)


def test_error_body_has_the_gateway_shape(ccc_emulator: Emulator, raw: Raw) -> None:
    """RequestId, HostId (the Host header), Code, Message, Recommend: nothing more, nothing less."""
    resp = raw(method="POST", path="/", query="Action=ListPhoneNumbers", headers={"Host": "ccc.example.test"})
    body = resp.json()
    assert resp.status == 400
    assert list(body) == ["RequestId", "HostId", "Code", "Message", "Recommend"]
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", body["RequestId"])
    assert body["HostId"] == "ccc.example.test"
    assert body["Code"] == "MissingSignature"
    assert body["Recommend"] == "https://api.aliyun.com/troubleshoot?q=MissingSignature&product=CCC"
    assert resp.headers["x-acs-request-id"] == body["RequestId"]
    assert resp.headers["content-type"] == "application/json; charset=utf-8"


def test_unknown_access_key(client_for: Callable[..., Client]) -> None:
    """InvalidAccessKeyId.NotFound 404 reaches the SDK as a ClientException."""
    with pytest.raises(ClientException) as info:
        add_bulk(client_for("LTAI-unknown", "whatever"), [demo.landline(0)])
    assert (info.value.status_code, info.value.code, info.value.data["Message"]) == (
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    )


def test_admin_state_and_journal(sdk: Client, raw: Raw) -> None:
    """GET state and journal (filterable by action), DELETE journal."""
    add_bulk(sdk, [demo.landline(0)])
    sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
    status, state = admin(raw, "GET", "/state")
    assert status == 200
    assert [b["number"] for b in state["bindings"] if b["instance_id"] == INSTANCE] == [demo.landline(0)]
    assert {i["id"] for i in state["instances"]} == {INSTANCE, demo.DEMO_INSTANCE_2_ID}
    assert len(state["numbers"]) == 1225
    assert "access_keys" not in state  # secrets never leave through the admin API
    status, journal = admin(raw, "GET", "/journal")
    assert [e["action"] for e in journal] == ["AddBulkPhoneNumbers", "ListContactFlows"]
    status, journal = admin(raw, "GET", "/journal?action=ListContactFlows")
    assert [e["action"] for e in journal] == ["ListContactFlows"]
    assert admin(raw, "DELETE", "/journal") == (200, {"ok": True})
    assert admin(raw, "GET", "/journal") == (200, [])


def test_admin_faults(sdk: Client, raw: Raw, ccc_emulator: Emulator) -> None:
    """POST /faults registers a fault (options flat or nested), GET lists, DELETE removes."""
    status, created = admin(
        raw,
        "POST",
        "/faults",
        {"kind": "throttling", "action": "ListPhoneNumbers", "times": 1, "retry_after_ms": 10},
    )
    assert status == 200
    _, listed = admin(raw, "GET", "/faults")
    assert listed == [
        {
            "id": created["id"],
            "kind": "throttling",
            "action": "ListPhoneNumbers",
            "times": 1,
            "probability": None,
            "skip": 0,
            "options": {
                "retry_after_ms": 10,
                "code": "Throttling.User",
                "message": "Request was denied due to user flow control.",
            },
        }
    ]
    with pytest.raises(ThrottlingException) as info:
        sdk.list_phone_numbers(m.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False))
    assert info.value.retry_after == 10
    status, second = admin(raw, "POST", "/faults", {"kind": "latency", "options": {"ms": 1}})
    assert status == 200
    assert admin(raw, "DELETE", f"/faults/{second['id']}") == (200, {"ok": True})
    assert admin(raw, "DELETE", f"/faults/{second['id']}")[0] == 404
    admin(raw, "POST", "/faults", {"kind": "latency", "ms": 1})
    assert admin(raw, "DELETE", "/faults") == (200, {"ok": True})
    assert ccc_emulator.faults() == []
    status, err = admin(raw, "POST", "/faults", {"kind": "nope"})
    assert status == 400
    assert "unknown fault kind 'nope'" in err["error"]
    status, err = admin(raw, "POST", "/faults", {"kind": "internal_error", "skip": -1})
    assert (status, err) == (400, {"error": "fault: skip must be a non-negative integer, got -1"})


def test_admin_fault_with_skip(sdk: Client, raw: Raw, ccc_emulator: Emulator) -> None:
    """POST /faults takes skip: the first matching call passes, the next one is refused."""
    status, created = admin(
        raw,
        "POST",
        "/faults",
        {"kind": "internal_error", "action": "ListContactFlows", "skip": 1, "times": 1},
    )
    assert status == 200
    assert admin(raw, "GET", "/faults") == (
        200,
        [
            {
                "id": created["id"],
                "kind": "internal_error",
                "action": "ListContactFlows",
                "times": 1,
                "probability": None,
                "skip": 1,
                "options": {"applied": False},
            }
        ],
    )
    sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
    assert [f["skip"] for f in admin(raw, "GET", "/faults")[1]] == [0]
    with pytest.raises(ServerException) as info:
        sdk.list_contact_flows(m.ListContactFlowsRequest(instance_id=INSTANCE))
    assert (info.value.code, info.value.status_code) == ("InternalError", 500)
    assert admin(raw, "GET", "/faults") == (200, [])


def test_admin_bind_unbind_reset_and_seed(raw: Raw, ccc_emulator: Emulator) -> None:
    """Out-of-band bind/unbind, reset (optionally to a posted seed) and seed over HTTP."""
    status, bound = admin(raw, "POST", "/bind", {"number": demo.landline(0), "instance_id": INSTANCE})
    assert status == 200
    assert ccc_emulator.bindings(INSTANCE)[0]["phone_number_id"] == bound["phone_number_id"]
    assert admin(raw, "POST", "/bind", {"number": demo.landline(0), "instance_id": INSTANCE})[0] == 400
    assert admin(raw, "POST", "/unbind", {"number": demo.landline(0)}) == (200, {"ok": True})
    assert ccc_emulator.bindings(INSTANCE) == []
    tiny = {
        "access_keys": [{"id": "k", "secret": "s"}],
        "instances": [{"id": "i-1"}],
        "numbers": [{"number": "02100000001"}],
    }
    assert admin(raw, "POST", "/seed", tiny) == (200, {"ok": True})
    assert ccc_emulator.snapshot()["instances"] == [{"id": "i-1", "contact_flows": [], "skill_groups": []}]
    assert admin(raw, "POST", "/reset") == (200, {"ok": True})
    assert len(ccc_emulator.snapshot()["numbers"]) == 1225
    status, err = admin(raw, "POST", "/seed", {"instances": []})
    assert status == 400
    assert err["error"] == "seed: missing key 'access_keys'"
    assert admin(raw, "GET", "/nope")[0] == 404
    assert admin(raw, "GET", "/health") == (200, {"ok": True})
    assert ccc_emulator.calls() == 0  # admin calls are not API calls


def test_python_bind_unbind_and_snapshot(ccc_emulator: Emulator) -> None:
    """bind() returns the PhoneNumberId, refuses what the account forbids; unbind() removes."""
    pid = ccc_emulator.bind(
        demo.landline(0),
        INSTANCE,
        usage="Inbound",
        contact_flow_id=demo.WELCOME_FLOW_ID,
        skill_group_ids=[demo.SALES_SKILL_GROUP_ID],
    )
    assert ccc_emulator.bindings(INSTANCE) == [
        {
            "number": demo.landline(0),
            "instance_id": INSTANCE,
            "phone_number_id": pid,
            "usage": "Inbound",
            "contact_flow_id": demo.WELCOME_FLOW_ID,
            "skill_group_ids": [demo.SALES_SKILL_GROUP_ID],
        }
    ]
    assert ccc_emulator.snapshot()["bindings"][-1]["phone_number_id"] == pid
    with pytest.raises(ValueError, match="already bound"):
        ccc_emulator.bind(demo.landline(0), demo.DEMO_INSTANCE_2_ID)
    with pytest.raises(ValueError, match="not a purchased number"):
        ccc_emulator.bind("02199999999", INSTANCE)
    with pytest.raises(ValueError, match="unknown instance"):
        ccc_emulator.bind(demo.landline(1), "nope")
    with pytest.raises(ValueError, match="unknown skill group"):
        ccc_emulator.bind(demo.landline(1), INSTANCE, skill_group_ids=["sg-x"])
    ccc_emulator.unbind(demo.landline(0))
    assert ccc_emulator.bindings(INSTANCE) == []
    with pytest.raises(ValueError, match="is not bound"):
        ccc_emulator.unbind(demo.landline(0))
    assert ccc_emulator.calls() == 0


def test_drift_is_visible_to_the_api(sdk: Client, ccc_emulator: Emulator) -> None:
    """A number bound behind the API's back is listed and is 'used' for AddBulk."""
    pid = ccc_emulator.bind(demo.landline(3), INSTANCE)
    listed = sdk.list_phone_numbers(m.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False)).body
    assert [(p.number, p.phone_number_id) for p in listed.phone_numbers.phone_number] == [
        (demo.landline(3), pid)
    ]
    assert add_bulk(sdk, [demo.landline(3)]).userd_phone_numbers.userd_phone_number == [demo.landline(3)]


def test_reset_restores_knobs(ccc_emulator: Emulator) -> None:
    """reset() puts max_batch_size, latency and the batch-cap refusal back to the constructor's values."""
    ccc_emulator.max_batch_size = 2
    ccc_emulator.latency_ms = 5
    ccc_emulator.batch_cap_code = "TooMany"
    ccc_emulator.batch_cap_message = "Too many."
    ccc_emulator.reset()
    assert (
        ccc_emulator.max_batch_size,
        ccc_emulator.latency_ms,
        ccc_emulator.batch_cap_code,
        ccc_emulator.batch_cap_message,
    ) == (100, 0, "Parameter.Maximum", "The number of PhoneNumber must be less than or equal to {max}.")


@pytest.fixture
def proxy_variables_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")


def test_the_fixture_clears_proxy_variables(proxy_variables_set: None, ccc_emulator: Emulator) -> None:
    """Proxy variables set before the ccc_emulator fixture are gone inside the test."""
    assert os.environ.get("HTTP_PROXY") is None
    assert os.environ.get("https_proxy") is None
