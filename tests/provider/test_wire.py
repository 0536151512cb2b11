"""What the provider puts on the wire, seen by an independent proxy: the official client's v1 RPC requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alibabacloud_ccc20170705 import models
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.models import Config

from ccc_emulator import Emulator, demo
from ccc_numbers.client import CccClient

if TYPE_CHECKING:
    from conftest import MakeEngine, RecordingProxy, SeenRequest

INSTANCE = demo.DEMO_INSTANCE_ID
#: The query of a v1-signed RPC request from the generated SDK: common parameters only (ccc-api.md §1).
V1_QUERY = {
    "Action", "Format", "Version", "Timestamp", "SignatureNonce", "SignatureMethod", "SignatureVersion",
    "AccessKeyId", "Signature",
}


def shape(request: SeenRequest) -> tuple[str, str, frozenset[str], frozenset[str], frozenset[str]]:
    """Method, path, query names, header names and form field names (with N of Name.N kept)."""
    return (
        request.method,
        request.path,
        frozenset(request.query),
        frozenset(request.headers) - {"content-length"},
        frozenset(request.form),
    )


def assert_v1_rpc(request: SeenRequest) -> None:
    assert (request.method, request.path) == ("POST", "/")
    assert set(request.query) == V1_QUERY
    assert (request.query["SignatureMethod"], request.query["SignatureVersion"]) == ("HMAC-SHA1", "1.0")
    assert (request.query["Format"], request.query["Version"]) == ("json", "2017-07-05")
    assert "authorization" not in request.headers  # no ACS3 header
    assert request.headers["x-acs-action"] == request.query["Action"]
    assert request.headers["x-acs-version"] == "2017-07-05"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    # Business parameters travel in the form body only, none of the common ones.
    assert request.form
    assert not set(request.form) & V1_QUERY


def test_the_provider_sends_only_v1_signed_rpc_requests(
    ccc_emulator: Emulator, make_engine: MakeEngine, recording_proxy: RecordingProxy
) -> None:
    """Create, update, refresh and delete through a proxy: every request is a v1-signed RPC POST."""
    engine = make_engine(ccc_emulator, via=recording_proxy.url)
    inputs: dict[str, Any] = {
        "instance_id": INSTANCE,
        "numbers": [demo.landline(i) for i in range(150)],
        "contact_flow_id": demo.WELCOME_FLOW_ID,
        "skill_group_ids": [demo.SALES_SKILL_GROUP_ID],
    }
    state = engine.create(inputs)
    changed: dict[str, Any] = {demo.landline(i): {} for i in range(1, 151)}
    changed[demo.landline(1)] = {"contact_flow_id": demo.IVR_FLOW_ID}
    state = engine.update(state, {**inputs, "numbers": changed})
    refreshed = engine.read(state)
    assert refreshed is not None
    engine.delete(refreshed)

    actions = [request.action for request in recording_proxy.seen]
    assert sorted(set(actions)) == [
        "AddBulkPhoneNumbers", "ListContactFlows", "ListPhoneNumbers", "ListSkillGroups", "ModifyPhoneNumber",
        "RemovePhoneNumber",
    ]
    assert len(actions) == len(ccc_emulator.journal)  # the proxy saw every request the emulator answered
    for request in recording_proxy.seen:
        assert_v1_rpc(request)
    adds = [r for r in recording_proxy.seen if r.action == "AddBulkPhoneNumbers"]
    assert {k for k in adds[0].form if not k.startswith("PhoneNumber.")} == {
        "InstanceId", "Usage", "ContactFlowId", "SkillGroupId.1",
    }


def test_the_provider_request_has_the_generated_clients_exact_shape(
    ccc_emulator: Emulator, make_engine: MakeEngine, recording_proxy: RecordingProxy
) -> None:
    """The same ListPhoneNumbers from the provider and from the generated SDK look alike on the wire."""
    make_engine(ccc_emulator, via=recording_proxy.url)  # configures the provider process, like the engine
    CccClient().list_numbers(INSTANCE)
    official = Client(Config(
        endpoint=recording_proxy.url.removeprefix("http://"), protocol="http",
        access_key_id=demo.DEMO_ACCESS_KEY_ID, access_key_secret=demo.DEMO_ACCESS_KEY_SECRET,
    ))
    official.list_phone_numbers(models.ListPhoneNumbersRequest(instance_id=INSTANCE, outbound_only=False))

    ours, theirs = recording_proxy.seen
    assert shape(ours) == shape(theirs)
    assert ours.form == theirs.form == {"InstanceId": INSTANCE, "OutboundOnly": "False"}
    assert ours.headers["user-agent"].endswith("pulumi-ccc-numbers")
