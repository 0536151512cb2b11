"""Signature conformance: the three unmodified official clients against the emulator over HTTP.

(A) the generated SDK ``alibabacloud_ccc20170705`` (v1 HMAC-SHA1, form body), (B) tea-openapi
``call_api`` (ACS3-HMAC-SHA256), (C) aliyunsdkcore ``CommonRequest`` (v1, all in the query). Each
must succeed on every action and see the real gateway's refusals, with the exception class, code,
status and message it would see in production. Requests are captured and altered at the clients'
transport (``requests.Session.send`` and aliyunsdkcore's vendored copy) to replay or tamper with
them after signing.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import pytest
import requests
from alibabacloud_ccc20170705 import models as ccc_models
from alibabacloud_ccc20170705.client import Client as CccClient
from alibabacloud_tea_openapi import utils_models
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException as TeaClientException
from alibabacloud_tea_openapi.models import Config
from aliyunsdkcore.acs_exception.exceptions import ServerException as CoreServerException
from aliyunsdkcore.auth.credentials import StsTokenCredential
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest, RpcRequest
from aliyunsdkcore.vendored import requests as core_requests
from darabonba.runtime import RuntimeOptions

from ccc_emulator import Emulator, demo

#: Every character class the encoders treat differently, a literal percent escape, and CJK.
SPECIAL = "a b*c~d+e&f=g%h%41/i:j 呼叫中心 ü"
INSTANCE = demo.DEMO_INSTANCE_ID
MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"


@dataclass(frozen=True)
class Credentials:
    key_id: str
    secret: str
    token: str | None = None


DEMO = Credentials(demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET)
STS = Credentials(demo.DEMO_STS_ACCESS_KEY_ID, demo.DEMO_STS_ACCESS_KEY_SECRET, demo.DEMO_STS_SECURITY_TOKEN)


@dataclass(frozen=True)
class Refusal:
    """What a client raised, reduced to the gateway's answer (the client's own wrapping checked)."""

    exception: type[BaseException]
    code: str
    status: int
    message: str


class Caller(Protocol):
    def __call__(self, action: str, params: dict[str, Any]) -> dict[str, Any]: ...


# --- the three clients ------------------------------------------------------------------------------


def _snake(action: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def _tea_config(emu: Emulator, creds: Credentials) -> Config:
    return Config(
        endpoint=emu.endpoint,
        protocol="http",
        access_key_id=creds.key_id,
        access_key_secret=creds.secret,
        security_token=creds.token,
        region_id="cn-shanghai",
    )


def client_a(emu: Emulator, creds: Credentials = DEMO) -> Caller:
    """(A) the generated SDK: typed request models, one method per action."""
    client = CccClient(_tea_config(emu, creds))

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        request = getattr(ccc_models, f"{action}Request")().from_map(params)
        body: dict[str, Any] = getattr(client, _snake(action))(request).body.to_map()
        return body

    return call


def client_b(emu: Emulator, creds: Credentials = DEMO, *, in_query: bool = False) -> Caller:
    """(B) tea-openapi ``call_api`` (ACS3); parameters in the form body, or pre-flattened in the query."""
    client = OpenApiClient(_tea_config(emu, creds))

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        api = utils_models.Params(
            action=action,
            version="2017-07-05",
            protocol="HTTP",
            pathname="/",
            method="POST",
            auth_type="AK",
            style="RPC",
            req_body_type="formData",
            body_type="json",
        )
        if in_query:
            request = utils_models.OpenApiRequest(query=_flatten(params))
        else:
            request = utils_models.OpenApiRequest(body=params)
        body: dict[str, Any] = client.call_api(api, request, RuntimeOptions())["body"]
        return body

    return call


def client_c(emu: Emulator, creds: Credentials = DEMO, *, rpc_request: bool = False) -> Caller:
    """(C) aliyunsdkcore: a fresh CommonRequest per call (it keeps signing params), all in the query.

    ``rpc_request`` uses a bare ``RpcRequest`` instead, as the per-product packages
    (aliyun-python-sdk-ccc) do; only then does aliyunsdkcore see its own string to sign.
    """
    proxy = {"http": None, "https": None}
    if creds.token is None:
        client = AcsClient(creds.key_id, creds.secret, "cn-shanghai", proxy=proxy)
    else:
        credential = StsTokenCredential(creds.key_id, creds.secret, creds.token)
        client = AcsClient(credential=credential, region_id="cn-shanghai", proxy=proxy)

    def call(action: str, params: dict[str, Any]) -> dict[str, Any]:
        request: CommonRequest | RpcRequest
        if rpc_request:
            request = RpcRequest("CCC", "2017-07-05", action)
            request.set_endpoint(emu.endpoint)
        else:
            request = CommonRequest(
                domain=emu.endpoint, version="2017-07-05", action_name=action, product="CCC"
            )
        request.set_method("POST")
        for name, value in _flatten(params).items():
            request.add_query_param(name, value)
        body: dict[str, Any] = json.loads(client.do_action_with_exception(request))
        return body

    return call


def _flatten(params: dict[str, Any]) -> dict[str, str]:
    """``Name.N`` for lists (1-based), ``true``/``false`` for booleans, as the API metadata says."""
    out: dict[str, str] = {}
    for name, value in params.items():
        if isinstance(value, list):
            out.update({f"{name}.{i}": str(v) for i, v in enumerate(value, 1)})
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        else:
            out[name] = str(value)
    return out


CLIENTS: dict[str, Callable[..., Caller]] = {"A": client_a, "B": client_b, "C": client_c}
EXCEPTIONS: dict[str, type[BaseException]] = {
    "A": TeaClientException,
    "B": TeaClientException,
    "C": CoreServerException,
}


def refusal(call: Caller, action: str, params: dict[str, Any]) -> Refusal:
    """Call, expect a refusal, and reduce it; the tea clients' message wrapping is checked exactly."""
    with pytest.raises((TeaClientException, CoreServerException)) as info:
        call(action, params)
    err = info.value
    if isinstance(err, CoreServerException):
        return Refusal(type(err), err.get_error_code(), err.get_http_status(), err.get_error_msg())
    prefix, suffix = f"code: {err.status_code}, ", f" request id: {err.request_id}"
    assert err.message.startswith(prefix), err.message
    assert err.message.endswith(suffix), err.message
    assert err.request_id not in ("", "None")
    return Refusal(type(err), err.code, err.status_code, err.message[len(prefix) : -len(suffix)])


# --- transport tap -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Captured:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class Wiretap:
    """Records every request the clients send and optionally alters it after signing."""

    def __init__(self) -> None:
        self.sent: list[Captured] = []
        self.alter: Callable[[Any], None] | None = None

    def before_send(self, prepared: Any) -> None:
        if self.alter is not None:
            self.alter(prepared)
        body = prepared.body or b""
        self.sent.append(
            Captured(
                prepared.method,
                prepared.url,
                dict(prepared.headers),
                body.encode("utf-8") if isinstance(body, str) else bytes(body),
            )
        )


@pytest.fixture
def wiretap(monkeypatch: pytest.MonkeyPatch) -> Wiretap:
    tap = Wiretap()
    # darabonba (clients A and B) uses requests; aliyunsdkcore (C) its vendored copy.
    for session_class in (requests.Session, core_requests.Session):
        original = session_class.send

        def send(session: Any, prepared: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            tap.before_send(prepared)
            return _original(session, prepared, *args, **kwargs)

        monkeypatch.setattr(session_class, "send", send)
    return tap


def resend(captured: Captured) -> tuple[int, dict[str, Any]]:
    """Send the captured bytes again, byte for byte (method, path and query, headers, body)."""
    url = urlsplit(captured.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    try:
        path = url.path + ("?" + url.query if url.query else "")
        conn.request(captured.method, path, body=captured.body or None, headers=captured.headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def replace_in_body(old: bytes, new: bytes) -> Callable[[Any], None]:
    def alter(prepared: Any) -> None:
        body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
        assert old in body
        prepared.body = body.replace(old, new)
        prepared.headers["Content-Length"] = str(len(prepared.body))

    return alter


def replace_in_url(old: str, new: str) -> Callable[[Any], None]:
    def alter(prepared: Any) -> None:
        assert old in prepared.url
        prepared.url = prepared.url.replace(old, new)

    return alter


# --- every action succeeds -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_every_action_succeeds(ccc_emulator: Emulator, kind: str) -> None:
    """Each client binds, lists, modifies and unbinds numbers and lists flows and skill groups."""
    call = CLIENTS[kind](ccc_emulator)
    first, second, third = demo.landline(0), demo.landline(1), demo.landline(2)

    added = call(
        "AddBulkPhoneNumbers",
        {
            "InstanceId": INSTANCE,
            "PhoneNumber": [first, second],
            "Usage": "Bidirection",
            "ContactFlowId": demo.WELCOME_FLOW_ID,
            "SkillGroupId": [demo.DEFAULT_SKILL_GROUP_ID],
        },
    )
    assert added["Success"] is True
    assert added["Code"] == "OK"
    assert [n["Number"] for n in added["PhoneNumbers"]["PhoneNumber"]] == [first, second]
    assert added["FailedPhoneNumbers"]["FailedPhoneNumber"] == []

    one = call(
        "AddPhoneNumber",
        {"InstanceId": INSTANCE, "PhoneNumber": third, "Usage": "Inbound", "ContactFlowId": demo.IVR_FLOW_ID},
    )
    assert one["PhoneNumber"]["Number"] == third
    assert one["PhoneNumber"]["ContactFlow"]["ContactFlowId"] == demo.IVR_FLOW_ID
    third_id = one["PhoneNumber"]["PhoneNumberId"]

    listed = call("ListPhoneNumbers", {"InstanceId": INSTANCE, "OutboundOnly": False})
    assert sorted(n["Number"] for n in listed["PhoneNumbers"]["PhoneNumber"]) == [first, second, third]

    modified = call(
        "ModifyPhoneNumber",
        {
            "InstanceId": INSTANCE,
            "PhoneNumberId": third_id,
            "Usage": "Bidirection",
            "ContactFlowId": demo.AFTER_HOURS_FLOW_ID,
            "SkillGroupId": [demo.SALES_SKILL_GROUP_ID, demo.SUPPORT_SKILL_GROUP_ID],
        },
    )
    assert modified["PhoneNumber"]["Usage"] == "Bidirection"
    assert sorted(g["SkillGroupId"] for g in modified["PhoneNumber"]["SkillGroups"]["SkillGroup"]) == sorted(
        [demo.SALES_SKILL_GROUP_ID, demo.SUPPORT_SKILL_GROUP_ID]
    )

    removed = call("RemovePhoneNumber", {"InstanceId": INSTANCE, "PhoneNumberId": third_id})
    assert removed["Success"] is True
    assert sorted(b["number"] for b in ccc_emulator.bindings(INSTANCE)) == [first, second]

    flows = call("ListContactFlows", {"InstanceId": INSTANCE})
    assert [f["ContactFlowId"] for f in flows["ContactFlows"]["ContactFlow"]] == [
        demo.WELCOME_FLOW_ID,
        demo.IVR_FLOW_ID,
        demo.AFTER_HOURS_FLOW_ID,
    ]

    groups = call("ListSkillGroups", {"InstanceId": INSTANCE})
    assert [g["SkillGroupName"] for g in groups["SkillGroups"]["SkillGroup"]] == [
        "Default",
        "Sales",
        "Support",
    ]
    assert ccc_emulator.calls() == 7


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_sts_key_with_its_token(ccc_emulator: Emulator, kind: str) -> None:
    """The demo STS key works when the client sends its security token."""
    call = CLIENTS[kind](ccc_emulator, STS)
    flows = call("ListContactFlows", {"InstanceId": INSTANCE})
    assert len(flows["ContactFlows"]["ContactFlow"]) == 3


# --- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["A", "B"])
def test_wrong_secret_tea_clients(ccc_emulator: Emulator, kind: str) -> None:
    """A wrong secret: SignatureDoesNotMatch 400 with the server's string to sign."""
    call = CLIENTS[kind](ccc_emulator, Credentials(DEMO.key_id, "wrong-secret"))
    got = refusal(call, "ListContactFlows", {"InstanceId": INSTANCE})
    assert (got.exception, got.code, got.status) == (TeaClientException, "SignatureDoesNotMatch", 400)
    sts = got.message.removeprefix(MISMATCH)
    if kind == "A":
        assert sts.startswith("POST&%2F&AccessKeyId%3DLTAI5tCccEmulatorDemo01%26Action%3DListContactFlows%26")
    else:
        assert re.fullmatch(r"ACS3-HMAC-SHA256\n[0-9a-f]{64}", sts)


def test_wrong_secret_common_request(ccc_emulator: Emulator) -> None:
    """aliyunsdkcore with CommonRequest keeps SignatureDoesNotMatch.

    CommonRequest signs through an inner RpcRequest, so the string to sign it compares with the
    message is empty and its InvalidAccessKeySecret rewrite never fires (as against the real gateway).
    """
    call = client_c(ccc_emulator, Credentials(DEMO.key_id, "wrong-secret"))
    got = refusal(call, "ListContactFlows", {"InstanceId": INSTANCE})
    assert (got.exception, got.code, got.status) == (CoreServerException, "SignatureDoesNotMatch", 400)
    assert got.message.startswith(MISMATCH + "POST&%2F&AccessKeyId%3DLTAI5tCccEmulatorDemo01%26Action%3D")


def test_wrong_secret_rpc_request_becomes_invalid_access_key_secret(ccc_emulator: Emulator) -> None:
    """With a bare RpcRequest aliyunsdkcore finds its own string to sign after the ':' and rewrites."""
    call = client_c(ccc_emulator, Credentials(DEMO.key_id, "wrong-secret"), rpc_request=True)
    got = refusal(call, "ListContactFlows", {"InstanceId": SPECIAL})
    assert got == Refusal(
        CoreServerException,
        "InvalidAccessKeySecret",
        400,
        "The AccessKeySecret is incorrect. Please check your AccessKeyId and AccessKeySecret.",
    )


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_unknown_access_key(ccc_emulator: Emulator, kind: str) -> None:
    """An unknown AccessKeyId: InvalidAccessKeyId.NotFound 404."""
    call = CLIENTS[kind](ccc_emulator, Credentials("LTAI5tUnknownKey0000", "whatever"))
    got = refusal(call, "ListContactFlows", {"InstanceId": INSTANCE})
    assert got == Refusal(
        EXCEPTIONS[kind], "InvalidAccessKeyId.NotFound", 404, "Specified access key is not found."
    )


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_sts_key_without_token(ccc_emulator: Emulator, kind: str) -> None:
    """The STS key's id and secret without the token: MissingSecurityToken."""
    call = CLIENTS[kind](ccc_emulator, Credentials(STS.key_id, STS.secret))
    got = refusal(call, "ListContactFlows", {"InstanceId": INSTANCE})
    assert got == Refusal(
        EXCEPTIONS[kind], "MissingSecurityToken", 400, "SecurityToken is mandatory for this action."
    )


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_sts_key_with_wrong_token(ccc_emulator: Emulator, kind: str) -> None:
    """The STS key with another token: InvalidSecurityToken.Mismatch."""
    call = CLIENTS[kind](ccc_emulator, Credentials(STS.key_id, STS.secret, "not-the-token"))
    got = refusal(call, "ListContactFlows", {"InstanceId": INSTANCE})
    assert got == Refusal(
        EXCEPTIONS[kind],
        "InvalidSecurityToken.Mismatch",
        400,
        "Specified SecurityToken is mismatch with the AccessKey.",
    )


@pytest.mark.parametrize("kind", ["A", "B", "C"])
def test_replayed_request_is_refused_and_not_applied(
    ccc_emulator: Emulator, wiretap: Wiretap, kind: str
) -> None:
    """The exact bytes of a successful AddBulkPhoneNumbers sent again: SignatureNonceUsed, nothing bound."""
    call = CLIENTS[kind](ccc_emulator)
    number = demo.landline(10)
    call("AddBulkPhoneNumbers", {"InstanceId": INSTANCE, "PhoneNumber": [number], "Usage": "Inbound"})
    assert len(wiretap.sent) == 1
    ccc_emulator.unbind(number)

    status, body = resend(wiretap.sent[0])
    assert (status, body["Code"], body["Message"]) == (
        400,
        "SignatureNonceUsed",
        "Specified signature nonce was used already.",
    )
    assert ccc_emulator.bindings(INSTANCE) == []


@pytest.mark.parametrize(
    ("kind", "alter"),
    [
        ("A", replace_in_body(b"Usage=Bidirection", b"Usage=Inbound")),
        ("B", replace_in_body(b"Usage=Bidirection", b"Usage=Inbound")),
        ("C", replace_in_url("Usage=Bidirection", "Usage=Inbound")),
    ],
)
def test_request_tampered_after_signing(
    ccc_emulator: Emulator, wiretap: Wiretap, kind: str, alter: Callable[[Any], None]
) -> None:
    """A value changed between signing and the server: SignatureDoesNotMatch 400, nothing bound."""
    wiretap.alter = alter
    call = CLIENTS[kind](ccc_emulator)
    got = refusal(
        call,
        "AddBulkPhoneNumbers",
        {"InstanceId": INSTANCE, "PhoneNumber": [demo.landline(11)], "Usage": "Bidirection"},
    )
    assert (got.exception, got.code, got.status) == (EXCEPTIONS[kind], "SignatureDoesNotMatch", 400)
    assert got.message.startswith(MISMATCH)
    assert ccc_emulator.bindings(INSTANCE) == []


def test_unsigned_header_added_after_signing_acs3(ccc_emulator: Emulator, wiretap: Wiretap) -> None:
    """An x-acs-* header injected on the way (ACS3 signs all of them): IncompleteSignature."""

    def alter(prepared: Any) -> None:
        prepared.headers["x-acs-injected"] = "1"

    wiretap.alter = alter
    got = refusal(client_b(ccc_emulator), "ListContactFlows", {"InstanceId": INSTANCE})
    assert got == Refusal(
        TeaClientException,
        "IncompleteSignature",
        400,
        "The request signature does not conform to Aliyun standards.",
    )


# --- values survive signing ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["A", "B", "B-query", "C"])
def test_special_characters_survive_signing(ccc_emulator: Emulator, kind: str) -> None:
    """Spaces, * ~ + & = %, a literal %41 and CJK reach the service exactly: it echoes the unknown flow id."""
    call = client_b(ccc_emulator, in_query=True) if kind == "B-query" else CLIENTS[kind](ccc_emulator)
    got = refusal(
        call,
        "AddPhoneNumber",
        {
            "InstanceId": INSTANCE,
            "PhoneNumber": demo.landline(12),
            "Usage": "Inbound",
            "ContactFlowId": SPECIAL,
        },
    )
    exception = EXCEPTIONS[kind[0]]
    assert got == Refusal(exception, "NotExist.ContactFlow", 404, f"Contact flow '{SPECIAL}' does not exist")
    assert ccc_emulator.journal[-1].params["ContactFlowId"] == SPECIAL


@pytest.mark.parametrize("kind", ["B", "B-query", "C"])
def test_skill_group_name_filter_with_special_characters(ccc_emulator: Emulator, kind: str) -> None:
    """ListSkillGroups' SkillGroupName.N filter (not in the generated model) arrives exactly."""
    call = client_b(ccc_emulator, in_query=True) if kind == "B-query" else CLIENTS[kind](ccc_emulator)
    groups = call("ListSkillGroups", {"InstanceId": INSTANCE, "SkillGroupName": [SPECIAL, "Sales"]})
    assert [g["SkillGroupId"] for g in groups["SkillGroups"]["SkillGroup"]] == [demo.SALES_SKILL_GROUP_ID]
    params = ccc_emulator.journal[-1].params
    assert (params["SkillGroupName.1"], params["SkillGroupName.2"]) == (SPECIAL, "Sales")
