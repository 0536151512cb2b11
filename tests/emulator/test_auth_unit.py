"""Unit tests of ccc_emulator.auth: requests signed by the SDKs' own signing helpers, then tampered.

No server, no network: each test builds the exact query, headers and body an official client
would put on the wire and calls ``authenticate`` directly with a fixed clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from unittest import mock
from urllib.parse import unquote_plus, urlencode

import pytest
from alibabacloud_tea_openapi.utils import Utils as TeaUtils
from aliyunsdkcore.auth.composer import rpc_signature_composer
from aliyunsdkcore.utils import parameter_helper
from darabonba.utils.form import Form
from multidict import CIMultiDict

from ccc_emulator import demo
from ccc_emulator.auth import AccessKey, NonceStore, authenticate, v1_string_to_sign
from ccc_emulator.errors import ServiceError

KEY = AccessKey(demo.DEMO_ACCESS_KEY_ID, demo.DEMO_ACCESS_KEY_SECRET)
STS_KEY = AccessKey(
    demo.DEMO_STS_ACCESS_KEY_ID, demo.DEMO_STS_ACCESS_KEY_SECRET, demo.DEMO_STS_SECURITY_TOKEN
)
KEYS = {k.id: k for k in (KEY, STS_KEY)}

NOW_DT = datetime(2026, 11, 26, 22, 40, 28, tzinfo=UTC)
NOW = NOW_DT.timestamp()
TS = "2026-11-26T22:40:28Z"
HOST = "127.0.0.1:8080"
#: Every character class the encoders treat differently, plus a literal percent escape and CJK.
SPECIAL = "a b*c~d+e&f=g%h%41/i:j 呼叫中心 ü"

BODY = {
    "InstanceId": demo.DEMO_INSTANCE_ID,
    "PhoneNumber.1": "+8657188880001",
    "PhoneNumber.2": "0571 8888 0002",
    "Usage": "Bidirection",
}

MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"
INCOMPLETE = "The request signature does not conform to Aliyun standards."


def ts(offset_minutes: float = 0) -> str:
    return (NOW_DT + timedelta(minutes=offset_minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Wire:
    """One request as the server receives it."""

    method: str
    raw_path: str
    raw_query: str
    headers: CIMultiDict[str]
    body: bytes

    def auth(self, *, nonces: NonceStore | None = None, now: float = NOW) -> AccessKey:
        return authenticate(
            method=self.method,
            raw_path=self.raw_path,
            raw_query=self.raw_query,
            headers=self.headers,
            body=self.body,
            lookup_key=KEYS.get,
            nonces=NonceStore() if nonces is None else nonces,
            now=now,
        )

    def with_header(self, name: str, value: str, *, add: bool = False) -> Wire:
        headers = CIMultiDict(self.headers)
        if add:
            headers.add(name, value)
        else:
            headers[name] = value
        return replace(self, headers=headers)

    def without_header(self, name: str) -> Wire:
        headers = CIMultiDict(self.headers)
        del headers[name]
        return replace(self, headers=headers)


#: A request factory taking the keyword arguments shared by tea_v1 and acs3.
Builder = Callable[..., Wire]


def tea_v1(
    body: dict[str, str] | None = None,
    *,
    key: AccessKey = KEY,
    secret: str | None = None,
    timestamp: str = TS,
    nonce: str | None = None,
    token: str | None = None,
    query_extra: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    method: str = "POST",
) -> Wire:
    """A v1 request as ``do_rpcrequest`` (generated SDK, tea-openapi 0.4.6) builds it."""
    body = BODY if body is None else body
    query = {
        "Action": "AddBulkPhoneNumbers",
        "Format": "json",
        "Version": "2017-07-05",
        "Timestamp": timestamp,
        "SignatureNonce": uuid.uuid4().hex if nonce is None else nonce,
        **(query_extra or {}),
    }
    if token is not None:
        query["SecurityToken"] = token
    query.update(SignatureMethod="HMAC-SHA1", SignatureVersion="1.0", AccessKeyId=key.id)
    for name in drop:
        query.pop(name, None)
    signed = {**query, **TeaUtils.query(body)}
    query["Signature"] = TeaUtils.get_rpcsignature(signed, method, secret or key.secret)
    headers = CIMultiDict(
        {
            "host": HOST,
            "x-acs-version": "2017-07-05",
            "x-acs-action": "AddBulkPhoneNumbers",
            "user-agent": "AlibabaCloud (Linux) Python/3.11 Core/0.4.6 TeaDSL/2",
            "content-type": "application/x-www-form-urlencoded",
            "x-acs-credentials-provider": "static_ak",
        }
    )
    # darabonba's compose_url: urlencode (quote_plus) of the query; Form: urlencode of sorted body.
    return Wire(method, "/", urlencode(query), headers, Form.to_form_string(body).encode())


def core_v1(
    params: dict[str, str] | None = None,
    *,
    key: AccessKey = KEY,
    secret: str | None = None,
    method: str = "POST",
    timestamp: str | None = TS,
) -> tuple[Wire, str]:
    """A v1 request as aliyunsdkcore's CommonRequest builds it (all in the query); plus its string to sign.

    The composer stamps the real clock; ``timestamp`` pins it (None keeps the real clock).
    """
    params = {
        "Version": "2017-07-05",
        "Action": "ListContactFlows",
        "RegionId": "cn-shanghai",
        "InstanceId": demo.DEMO_INSTANCE_ID,
        **(params or {}),
    }
    with contextlib.ExitStack() as stack:
        if timestamp is not None:
            stack.enter_context(
                mock.patch.object(parameter_helper, "get_iso_8061_date", return_value=timestamp)
            )
        url, string_to_sign = rpc_signature_composer.get_signed_url(
            dict(params), key.id, secret or key.secret, "JSON", method, {}
        )
    assert url.startswith("/?")
    headers = CIMultiDict(
        {"Host": HOST, "Accept": "*/*", "x-sdk-invoke-type": "common", "x-sdk-client": "python/2.0.0"}
    )
    return Wire(method, "/", url[2:], headers, b""), string_to_sign


def acs3(
    body: dict[str, str] | None = None,
    *,
    query: dict[str, str] | None = None,
    key: AccessKey = KEY,
    secret: str | None = None,
    timestamp: str = TS,
    nonce: str | None = None,
    token: str | None = None,
    algorithm: str = "ACS3-HMAC-SHA256",
) -> Wire:
    """An ACS3 request as ``do_request`` (tea-openapi 0.4.6 ``call_api``, formData body) builds it."""
    body = BODY if body is None else body
    request = SimpleNamespace(
        method="POST",
        pathname="/",
        query=dict(query or {}),
        headers={
            "host": HOST,
            "x-acs-version": "2017-07-05",
            "x-acs-action": "AddBulkPhoneNumbers",
            "user-agent": "AlibabaCloud (Linux) Python/3.11 Core/0.4.6 TeaDSL/2",
            "x-acs-date": timestamp,
            "x-acs-signature-nonce": uuid.uuid4().hex if nonce is None else nonce,
            "accept": "application/json",
        },
    )
    form = TeaUtils.to_form(body)
    request.headers["content-type"] = "application/x-www-form-urlencoded"
    payload = hashlib.sha256(form.encode("utf-8")).hexdigest()
    request.headers["x-acs-content-sha256"] = payload
    if token is not None:
        request.headers["x-acs-accesskey-id"] = key.id
        request.headers["x-acs-security-token"] = token
    request.headers["Authorization"] = TeaUtils.get_authorization(
        request, algorithm, payload, key.id, secret or key.secret
    )
    return Wire("POST", "/", urlencode(request.query), CIMultiDict(request.headers), form.encode("utf-8"))


def refused(wire: Wire, *, nonces: NonceStore | None = None, now: float = NOW) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        wire.auth(nonces=nonces, now=now)
    return info.value


def assert_error(err: ServiceError, code: str, message: str, status: int = 400) -> None:
    assert (err.code, err.message, err.http_status) == (code, message, status)


# --- accepted requests -----------------------------------------------------------------------------


def test_generated_sdk_v1_request_is_accepted() -> None:
    """A form-body v1 request signed by tea-openapi's get_rpcsignature verifies."""
    assert tea_v1().auth() == KEY


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_aliyunsdkcore_v1_request_is_accepted(method: str) -> None:
    """aliyunsdkcore's all-in-query request (with the signed blank SignatureType=) verifies."""
    wire, _ = core_v1(method=method)
    assert "SignatureType=&" in wire.raw_query
    assert wire.auth() == KEY


def test_acs3_request_is_accepted() -> None:
    """An ACS3 request signed by tea-openapi's get_authorization verifies."""
    assert acs3().auth() == KEY


def test_special_characters_survive_every_signer() -> None:
    """Spaces, * ~ + & = %, a literal %41 and CJK verify in body, query and ACS3 query alike."""
    assert tea_v1({**BODY, "ContactFlowId": SPECIAL}).auth() == KEY
    assert tea_v1(query_extra={"SkillGroupName.1": SPECIAL}).auth() == KEY
    assert core_v1({"ContactFlowId": SPECIAL})[0].auth() == KEY
    assert acs3({**BODY, "ContactFlowId": SPECIAL}, query={"SkillGroupName.1": SPECIAL}).auth() == KEY


def test_string_to_sign_equals_aliyunsdkcore() -> None:
    """The server's v1 string to sign is byte-identical to aliyunsdkcore's, special values included."""
    wire, client_sts = core_v1({"ContactFlowId": SPECIAL, "Empty": ""})
    params = dict(p.split("=", 1) for p in wire.raw_query.split("&"))
    decoded = {unquote_plus(k): unquote_plus(v) for k, v in params.items() if k != "Signature"}
    assert v1_string_to_sign("POST", decoded) == client_sts


def test_body_wins_over_query_on_a_clash() -> None:
    """The clients sign merge(query, body); a name in both is verified with the body's value."""
    wire = tea_v1(query_extra={"InstanceId": "from-query"})
    assert "InstanceId=from-query" in wire.raw_query
    assert wire.auth() == KEY


def test_non_form_body_is_not_merged() -> None:
    """Only an x-www-form-urlencoded body carries parameters; a JSON body is not read for v1."""
    wire = tea_v1({})
    wire = replace(wire.with_header("content-type", "application/json"), body=b"Signature=forged")
    assert wire.auth() == KEY


def test_acs3_raw_path_with_query_and_unsigned_transport_headers() -> None:
    """aiohttp's raw_path carries the query; headers added after signing (not x-acs-*) are ignored."""
    wire = acs3(query={"A": "1"})
    wire = replace(wire, raw_path="/?A=1").with_header("Accept-Encoding", "gzip, deflate")
    assert wire.with_header("Content-Length", str(len(wire.body))).auth() == KEY


# --- keys and secrets ------------------------------------------------------------------------------


def test_wrong_secret_v1() -> None:
    """A v1 request with the wrong secret: SignatureDoesNotMatch, message ending with the string to sign."""
    wire, client_sts = core_v1(secret="wrong-secret")
    err = refused(wire)
    assert_error(err, "SignatureDoesNotMatch", MISMATCH + client_sts)
    # aliyunsdkcore turns this into InvalidAccessKeySecret only if split(':')[1] is its own STS.
    assert err.message.split(":")[1] == client_sts


def test_wrong_secret_generated_sdk() -> None:
    """The form-body variant refuses a wrong secret the same way."""
    err = refused(tea_v1(secret="wrong-secret"))
    assert err.code == "SignatureDoesNotMatch"
    assert err.http_status == 400
    assert err.message.startswith(MISMATCH + "POST&%2F&AccessKeyId%3DLTAI5tCccEmulatorDemo01%26Action%3D")


def test_wrong_secret_acs3() -> None:
    """ACS3 with the wrong secret: SignatureDoesNotMatch with the ACS3 string to sign."""
    err = refused(acs3(secret="wrong-secret"))
    assert err.code == "SignatureDoesNotMatch"
    assert err.http_status == 400
    prefix, _, digest = err.message.rpartition("\n")
    assert prefix == MISMATCH + "ACS3-HMAC-SHA256"
    assert len(digest) == 64


def test_acs3_secret_with_ampersand_is_refused() -> None:
    """ACS3 keys the HMAC with the bare secret: signing with v1's 'secret&' fails."""
    assert refused(acs3(secret=KEY.secret + "&")).code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    "build", [lambda k: tea_v1(key=k), lambda k: core_v1(key=k)[0], lambda k: acs3(key=k)]
)
def test_unknown_access_key(build: Builder) -> None:
    """An unknown AccessKeyId is InvalidAccessKeyId.NotFound 404 in every scheme."""
    unknown = AccessKey("LTAI-unknown", "whatever")
    assert_error(
        refused(build(unknown)), "InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404
    )


# --- nonces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_replayed_request_is_refused(build: Builder) -> None:
    """The same signed request twice: the second is SignatureNonceUsed."""
    wire = build()
    nonces = NonceStore()
    assert wire.auth(nonces=nonces) == KEY
    assert_error(
        refused(wire, nonces=nonces), "SignatureNonceUsed", "Specified signature nonce was used already."
    )


def test_forged_request_does_not_burn_the_nonce() -> None:
    """A nonce is recorded only after the signature verified."""
    nonces = NonceStore()
    assert refused(tea_v1(nonce="n1", secret="forged"), nonces=nonces).code == "SignatureDoesNotMatch"
    assert tea_v1(nonce="n1").auth(nonces=nonces) == KEY


def test_nonce_is_per_access_key() -> None:
    """Two keys may use the same nonce."""
    nonces = NonceStore()
    assert tea_v1(nonce="shared").auth(nonces=nonces) == KEY
    assert tea_v1(nonce="shared", key=STS_KEY, token=STS_KEY.security_token).auth(nonces=nonces) == STS_KEY


def test_nonce_store_forgets_after_the_window() -> None:
    """Entries older than the window are pruned and usable again."""
    store = NonceStore(window_seconds=10)
    assert store.use("ak", "n", 100.0)
    assert not store.use("ak", "n", 110.0)
    assert store.use("ak", "other", 111.0)
    assert len(store) == 1  # "n" (recorded at 100) pruned at 111
    assert store.use("ak", "n", 111.0)
    store.clear()
    assert len(store) == 0


def test_nonce_store_is_thread_safe() -> None:
    """Of many threads racing on one nonce, exactly one wins."""
    store = NonceStore()
    results: list[bool] = []
    barrier = threading.Barrier(16)

    def race() -> None:
        barrier.wait()
        results.append(store.use("ak", "same", NOW))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 15 + [True]


# --- time -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-14, 14, -15, 15])
@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_timestamp_within_window_is_accepted(build: Builder, offset: int) -> None:
    """Up to 15 minutes of skew either way passes."""
    assert build(timestamp=ts(offset)).auth() == KEY


@pytest.mark.parametrize("offset", [-16, 16])
@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_timestamp_outside_window_is_expired(build: Builder, offset: int) -> None:
    """16 minutes of skew is InvalidTimeStamp.Expired."""
    assert_error(
        refused(build(timestamp=ts(offset))),
        "InvalidTimeStamp.Expired",
        "Specified time stamp or date value is expired.",
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-26 22:40:28",
        "2026-11-26T22:40:28.000Z",
        "2026-13-01T00:00:00Z",
        "2026-11-26T22:40:28+08:00",
        "1795301228",
    ],
)
@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_malformed_timestamp(build: Builder, value: str) -> None:
    """Anything but YYYY-MM-DDThh:mm:ssZ (a real date) is InvalidTimeStamp.Format."""
    assert_error(
        refused(build(timestamp=value)),
        "InvalidTimeStamp.Format",
        "Specified time stamp or date value is not well formatted.",
    )


def test_sdk_clock_timestamps_verify_against_now() -> None:
    """aliyunsdkcore stamps the real clock; the server's real clock accepts it."""
    wire, _ = core_v1(timestamp=None)
    assert wire.auth(now=time.time()) == KEY


# --- tampering ------------------------------------------------------------------------------------


def test_tampered_body_v1() -> None:
    """Changing a body value after signing fails the v1 signature."""
    wire = tea_v1()
    tampered = replace(wire, body=wire.body.replace(b"Bidirection", b"Inbound"))
    assert refused(tampered).code == "SignatureDoesNotMatch"


def test_tampered_body_acs3() -> None:
    """ACS3 hashes the bytes received, not the client's x-acs-content-sha256 claim."""
    wire = acs3()
    tampered = replace(wire, body=wire.body.replace(b"Bidirection", b"Inbound"))
    assert refused(tampered).code == "SignatureDoesNotMatch"


def test_tampered_query_v1() -> None:
    """Changing a query value after signing fails the v1 signature."""
    wire, _ = core_v1()
    tampered = replace(
        wire, raw_query=wire.raw_query.replace("Action=ListContactFlows", "Action=ListSkillGroups")
    )
    assert refused(tampered).code == "SignatureDoesNotMatch"


def test_tampered_query_acs3() -> None:
    """Changing or adding a query parameter after signing fails the ACS3 signature."""
    wire = acs3(query={"SkillGroupName.1": "Sales"})
    assert refused(replace(wire, raw_query="SkillGroupName.1=Support")).code == "SignatureDoesNotMatch"
    assert refused(replace(wire, raw_query=wire.raw_query + "&X=1")).code == "SignatureDoesNotMatch"


def test_tampered_signed_header_acs3() -> None:
    """A signed header (user-agent, x-acs-action) changed in transit fails the ACS3 signature."""
    wire = acs3()
    assert refused(wire.with_header("user-agent", "proxy/1.0")).code == "SignatureDoesNotMatch"
    assert refused(wire.with_header("x-acs-action", "RemovePhoneNumber")).code == "SignatureDoesNotMatch"


def test_tampered_method() -> None:
    """The HTTP method is part of both strings to sign."""
    assert refused(replace(tea_v1(), method="GET")).code == "SignatureDoesNotMatch"
    assert refused(replace(acs3(), method="PUT")).code == "SignatureDoesNotMatch"


# --- missing and invalid common parameters -------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp", "SignatureNonce"]
)
def test_missing_v1_common_parameter(name: str) -> None:
    """Each absent common parameter is Missing<Name>."""
    assert_error(refused(tea_v1(drop=(name,))), f"Missing{name}", f"{name} is mandatory for this action.")


def test_blank_v1_common_parameter_counts_as_missing() -> None:
    """An empty SignatureNonce= is as missing as none."""
    assert_error(
        refused(tea_v1(nonce="", drop=())),
        "MissingSignatureNonce",
        "SignatureNonce is mandatory for this action.",
    )


def test_unsigned_request() -> None:
    """Neither a Signature parameter nor an ACS3 header: MissingSignature."""
    wire = Wire("POST", "/", "Action=ListContactFlows&Version=2017-07-05", CIMultiDict({"host": HOST}), b"")
    assert_error(refused(wire), "MissingSignature", "Signature is mandatory for this action.")


def test_foreign_authorization_scheme() -> None:
    """A non-ACS3 Authorization header with no Signature parameter is IncompleteSignature."""
    wire = Wire("POST", "/", "Action=ListContactFlows", CIMultiDict({"Authorization": "Bearer abc"}), b"")
    assert_error(refused(wire), "IncompleteSignature", INCOMPLETE)


def test_v1_signature_method_and_version() -> None:
    """Only HMAC-SHA1 / 1.0 is v1."""
    wire = tea_v1()
    assert_error(
        refused(replace(wire, raw_query=wire.raw_query.replace("HMAC-SHA1", "HMAC-SHA256"))),
        "InvalidSignatureMethod",
        "Specified signature method is not supported.",
    )
    assert_error(
        refused(
            replace(wire, raw_query=wire.raw_query.replace("SignatureVersion=1.0", "SignatureVersion=2.0"))
        ),
        "InvalidSignatureVersion",
        "Specified signature version is not supported.",
    )


# --- ACS3 structure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        "ACS3-HMAC-SHA256",
        "ACS3-HMAC-SHA256 Credential=LTAI5tCccEmulatorDemo01",
        "ACS3-HMAC-SHA256 Credential=LTAI5tCccEmulatorDemo01,SignedHeaders=host,Signature=",
        "ACS3-HMAC-SHA256 Credential=LTAI5tCccEmulatorDemo01,SignedHeaders=host,Signature=ab,Extra=1",
        "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=ab",
        "ACS3-HMAC-SHA256 Credential=LTAI5tCccEmulatorDemo01;SignedHeaders=host;Signature=ab",
    ],
)
def test_malformed_acs3_authorization(authorization: str) -> None:
    """An Authorization header that does not parse is IncompleteSignature."""
    assert_error(
        refused(acs3().with_header("Authorization", authorization)), "IncompleteSignature", INCOMPLETE
    )


def _resign_headers(wire: Wire, signed_headers: str) -> Wire:
    auth = wire.headers["Authorization"]
    start = auth.index("SignedHeaders=") + len("SignedHeaders=")
    end = auth.index(",", start)
    return wire.with_header("Authorization", auth[:start] + signed_headers + auth[end:])


_REST = "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"


@pytest.mark.parametrize(
    "signed_headers",
    [
        _REST,  # no host
        "host;x-acs-action;x-acs-date;x-acs-signature-nonce;x-acs-version",  # content-sha256 unsigned
        "host;x-acs-date;x-acs-action;x-acs-content-sha256;x-acs-signature-nonce;x-acs-version",  # unsorted
        "Host;" + _REST,  # upper case
        "host;host;" + _REST,  # repeated
        "host;;" + _REST,  # empty name
    ],
)
def test_bad_signed_headers(signed_headers: str) -> None:
    """SignedHeaders must be lower-case, sorted, unique and cover host and every x-acs-* header."""
    assert_error(refused(_resign_headers(acs3(), signed_headers)), "IncompleteSignature", INCOMPLETE)


def test_x_acs_header_added_after_signing() -> None:
    """An x-acs-* header the client did not sign is refused as IncompleteSignature."""
    wire = acs3().with_header("x-acs-retry-attempts", "1")
    assert_error(refused(wire), "IncompleteSignature", INCOMPLETE)


@pytest.mark.parametrize("header", ["x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"])
def test_missing_acs3_header(header: str) -> None:
    """A required ACS3 header that is absent is MissingParameter naming the header."""
    assert_error(
        refused(acs3().without_header(header)), "MissingParameter", f"{header} is mandatory for this action."
    )


def test_unsupported_acs3_algorithm() -> None:
    """ACS3-HMAC-SM3 is not emulated: InvalidSignatureMethod."""
    assert_error(
        refused(acs3(algorithm="ACS3-HMAC-SM3")),
        "InvalidSignatureMethod",
        "Specified signature method is not supported.",
    )


def test_acs3_signature_is_lower_hex() -> None:
    """The signature is compared as the client sends it (lower-case hex)."""
    wire = acs3()
    auth = wire.headers["Authorization"]
    prefix, _, signature = auth.rpartition("Signature=")
    assert refused(wire.with_header("Authorization", prefix + "Signature=" + signature.upper())).code == (
        "SignatureDoesNotMatch"
    )


# --- STS ------------------------------------------------------------------------------------------


def test_sts_right_token() -> None:
    """An STS key with its token verifies in v1 and ACS3."""
    assert tea_v1(key=STS_KEY, token=STS_KEY.security_token).auth() == STS_KEY
    assert acs3(key=STS_KEY, token=STS_KEY.security_token).auth() == STS_KEY


@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_sts_missing_token(build: Builder) -> None:
    """An STS key without its token is MissingSecurityToken."""
    assert_error(
        refused(build(key=STS_KEY)), "MissingSecurityToken", "SecurityToken is mandatory for this action."
    )


@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_sts_wrong_token(build: Builder) -> None:
    """An STS key with another token (correctly signed) is InvalidSecurityToken.Mismatch."""
    assert_error(
        refused(build(key=STS_KEY, token="another-token")),
        "InvalidSecurityToken.Mismatch",
        "Specified SecurityToken is mismatch with the AccessKey.",
    )


@pytest.mark.parametrize("build", [tea_v1, acs3])
def test_token_with_permanent_key(build: Builder) -> None:
    """A token sent with a key that has none is InvalidSecurityToken.Malformed."""
    assert_error(
        refused(build(key=KEY, token="some-token")),
        "InvalidSecurityToken.Malformed",
        "Specified SecurityToken is malformed.",
    )


def test_access_key_repr_hides_secrets() -> None:
    """Secrets never appear in a repr (logs, assertion messages)."""
    text = repr(STS_KEY)
    assert STS_KEY.secret not in text
    assert str(STS_KEY.security_token) not in text
