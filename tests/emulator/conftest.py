"""Shared helpers for the emulator tests: a generated-SDK client and a raw, hand-signed HTTP caller.

The raw caller signs v1 (HMAC-SHA1) with its own few lines rather than the emulator's auth module,
so these tests do not check the emulator against itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from alibabacloud_ccc20170705.client import Client
from alibabacloud_tea_openapi.models import Config

from ccc_emulator import Emulator, demo


def make_client(
    emu: Emulator,
    key_id: str = demo.DEMO_ACCESS_KEY_ID,
    secret: str = demo.DEMO_ACCESS_KEY_SECRET,
    **config: Any,
) -> Client:
    """The generated SDK pointed at the emulator (plain HTTP, no retries unless asked)."""
    return Client(
        Config(
            endpoint=emu.endpoint,
            protocol="http",
            access_key_id=key_id,
            access_key_secret=secret,
            **config,
        )
    )


@pytest.fixture
def sdk(ccc_emulator: Emulator) -> Client:
    """The generated SDK client with the demo key, against a freshly reset emulator."""
    return make_client(ccc_emulator)


@pytest.fixture
def client_for(ccc_emulator: Emulator) -> Callable[..., Client]:
    """Build generated-SDK clients with other keys or Config options: client_for(key_id, secret, **config)."""

    def build(
        key_id: str = demo.DEMO_ACCESS_KEY_ID, secret: str = demo.DEMO_ACCESS_KEY_SECRET, **config: Any
    ) -> Client:
        return make_client(ccc_emulator, key_id, secret, **config)

    return build


def _rfc3986(value: str) -> str:
    return quote(value, safe="~")


def sign_v1(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(params.items()))
    string_to_sign = f"{method}&%2F&{_rfc3986(canonical)}"
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def common_params(action: str | None, version: str | None = "2017-07-05") -> dict[str, str]:
    params = {
        "Format": "json",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SignatureNonce": uuid.uuid4().hex,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "AccessKeyId": demo.DEMO_ACCESS_KEY_ID,
    }
    if action is not None:
        params["Action"] = action
    if version is not None:
        params["Version"] = version
    return params


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(
    emu: Emulator,
    *,
    method: str = "POST",
    path: str = "/",
    query: str = "",
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> RawResponse:
    """One HTTP request on a fresh connection, exactly as given."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    try:
        target = f"{path}?{query}" if query else path
        conn.request(method, target, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@pytest.fixture
def raw(ccc_emulator: Emulator) -> Callable[..., RawResponse]:
    """raw(method=..., path=..., query=..., body=..., headers=...): an unsigned request as given."""

    def send(**kw: Any) -> RawResponse:
        return raw_request(ccc_emulator, **kw)

    return send


@pytest.fixture
def signed(ccc_emulator: Emulator) -> Callable[..., RawResponse]:
    """Send a v1-signed request: common params (+ Signature) in the query, business params in a form body."""

    def send(
        action: str | None,
        business: Mapping[str, str] | None = None,
        *,
        version: str | None = "2017-07-05",
        method: str = "POST",
        path: str = "/",
        json_body: Any = None,
    ) -> RawResponse:
        query = common_params(action, version)
        if json_body is not None:
            # A JSON body is not signed (not a form), so the signature covers the query alone.
            query["Signature"] = sign_v1(query, demo.DEMO_ACCESS_KEY_SECRET, method)
            return raw_request(
                ccc_emulator,
                method=method,
                path=path,
                query=urlencode(query),
                body=json.dumps(json_body).encode(),
                headers={"Content-Type": "application/json"},
            )
        form = dict(business or {})
        signature = sign_v1({**query, **form}, demo.DEMO_ACCESS_KEY_SECRET, method)
        query["Signature"] = signature
        if method == "GET":
            return raw_request(ccc_emulator, method=method, path=path, query=urlencode({**query, **form}))
        return raw_request(
            ccc_emulator,
            method=method,
            path=path,
            query=urlencode(query),
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    return send
