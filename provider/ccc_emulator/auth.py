"""Request authentication exactly as the CCC API gateway does it: v1 HMAC-SHA1 and ACS3-HMAC-SHA256.

Owns: parsing the signature material out of a raw request, the timestamp window, access key
lookup (through a callback), STS security tokens, signature verification and nonce replay
protection (``NonceStore``). Verified against what the official clients actually sign:
``alibabacloud_tea_openapi.utils.Utils.get_rpcsignature`` / ``get_authorization`` (tea-openapi
0.4.6, used by the generated SDK and by ``call_api``) and
``aliyunsdkcore.auth.composer.rpc_signature_composer`` (aliyun-python-sdk-core 2.16.1).

Must not: apply business rules (Action, Version, path, required business parameters are the
service's job, checked only after ``authenticate`` returned), build responses (``pipeline.py``
serialises the ``ServiceError`` raised here), or import ``ccc_numbers``.

Which scheme: an ``Authorization: ACS3-HMAC-SHA256 ...`` header selects ACS3; otherwise a
``Signature`` parameter (query or form body) selects v1.

Check order, v1: common parameters present (``Signature`` first, then ``AccessKeyId``,
``SignatureMethod``, ``SignatureVersion``, ``Timestamp``, ``SignatureNonce``); method and version;
timestamp format, then window; access key; STS token; signature; nonce.
Check order, ACS3: Authorization header shape; algorithm; ``SignedHeaders`` shape; required
``x-acs-*`` headers; every ``x-acs-*`` header and ``host`` signed; ``x-acs-date`` format, then
window; access key; STS token; signature; nonce. ``x-acs-action`` / ``x-acs-version`` are not
required here (the service answers for a missing action or version), but must be signed when sent.

Codes for cases the documentation leaves open (choices, with the reason):

* Neither an ACS3 ``Authorization`` header nor a ``Signature`` parameter: ``MissingSignature``
  400 ``Signature is mandatory for this action.`` (the gateway's ``Missing<Name>`` grammar for the
  first absent common parameter). Any other ``Authorization`` scheme with no ``Signature``
  parameter: ``IncompleteSignature``.
* A missing ACS3 header (``x-acs-date``, ``x-acs-signature-nonce``, ``x-acs-content-sha256``):
  ``MissingParameter`` 400 ``<header> is mandatory for this action.`` (no v1 name fits).
* Malformed ``Authorization``, ``SignedHeaders`` not lower-case/sorted/unique, or lacking
  ``host`` or a present ``x-acs-*`` header: ``IncompleteSignature`` 400 ``The request signature
  does not conform to Aliyun standards.`` (the observed gateway wording).
* v1 ``SignatureMethod`` other than ``HMAC-SHA1``: ``InvalidSignatureMethod`` 400; ACS3 algorithms
  other than ``ACS3-HMAC-SHA256`` (SM3, RSA) get the same (not emulated).
  ``SignatureVersion`` other than ``1.0``: ``InvalidSignatureVersion`` 400.
* STS key without its token: ``MissingSecurityToken`` 400 ``SecurityToken is mandatory for this
  action.`` (observed from the real gateway). Wrong token: ``InvalidSecurityToken.Mismatch`` 400.
  A token sent with a key that has none: ``InvalidSecurityToken.Malformed`` 400.
* ACS3 signature mismatch: ``SignatureDoesNotMatch`` 400 with the same message grammar as v1,
  the string to sign being ``ACS3-HMAC-SHA256\\n<hex sha256 of the canonical request>``.

The v1 mismatch message ends with ``server string to sign is:<string to sign>``: aliyunsdkcore
compares ``Message.split(':')[1]`` with its own string to sign and, when equal (right request,
wrong secret), re-raises as ``InvalidAccessKeySecret``. The string to sign never contains a raw
``:`` because every value is percent-encoded twice, so the split is safe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from multidict import MultiMapping

from ccc_emulator.errors import ServiceError

__all__ = ["AccessKey", "NonceStore", "authenticate"]

#: Accepted clock skew either way (the gateway's documented 15 minutes).
TIMESTAMP_WINDOW_SECONDS = 900.0

ACS3_ALGORITHM = "ACS3-HMAC-SHA256"
V1_SIGNATURE_METHOD = "HMAC-SHA1"
V1_SIGNATURE_VERSION = "1.0"

#: Checked in this order; the first absent one is reported. ``Signature`` first so that an
#: unsigned request reads ``MissingSignature``.
_V1_REQUIRED = ("Signature", "AccessKeyId", "SignatureMethod", "SignatureVersion", "Timestamp",
                "SignatureNonce")
_ACS3_REQUIRED_HEADERS = ("x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce")

_TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_SIGNED_HEADER_RE = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")

_MSG_INCOMPLETE = "The request signature does not conform to Aliyun standards."
_MSG_MISMATCH = "Specified signature is not matched with our calculation. server string to sign is:"


@dataclass(frozen=True)
class AccessKey:
    """An access key the emulator knows; ``security_token`` set means an STS key that needs it."""

    id: str
    secret: str
    security_token: str | None = None

    def __repr__(self) -> str:
        # Keeps secrets out of logs and assertion messages.
        token = "***" if self.security_token else None
        return f"AccessKey(id={self.id!r}, secret=***, security_token={token})"


class NonceStore:
    """Remembers (access key id, nonce) pairs for ``window_seconds``; thread-safe.

    Old entries are pruned on every use, in insertion order, so memory stays bounded by the
    request rate times the window.
    """

    def __init__(self, window_seconds: float = TIMESTAMP_WINDOW_SECONDS) -> None:
        self._window = window_seconds
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], float] = {}
        self._order: deque[tuple[float, tuple[str, str]]] = deque()

    def use(self, access_key_id: str, nonce: str, now: float) -> bool:
        """Record the nonce; False if this key already used it within the window."""
        key = (access_key_id, nonce)
        with self._lock:
            self._prune(now)
            recorded = self._seen.get(key)
            if recorded is not None and now - recorded <= self._window:
                return False
            self._seen[key] = now
            self._order.append((now, key))
            return True

    def clear(self) -> None:
        """Forget every nonce. ``Emulator.reset()`` does not call it: nonces are the gateway's
        memory, not account state, so a request replayed across a reset is still refused."""
        with self._lock:
            self._seen.clear()
            self._order.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def __bool__(self) -> bool:
        # An empty store is still a store: without this, `nonces or NonceStore()` would silently
        # swap a fresh (empty) shared store for a throwaway one and disable replay protection.
        return True

    def _prune(self, now: float) -> None:
        horizon = now - self._window
        while self._order and self._order[0][0] < horizon:
            recorded, key = self._order.popleft()
            # A key re-recorded later has a newer time in _seen: keep that entry.
            if self._seen.get(key) == recorded:
                del self._seen[key]


def authenticate(
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    lookup_key: Callable[[str], AccessKey | None],
    nonces: NonceStore,
    now: float,
) -> AccessKey:
    """Verify a v1 (HMAC-SHA1, Signature in params) or ACS3-HMAC-SHA256 (Authorization header) request.

    headers is case-insensitive (aiohttp CIMultiDictProxy; in unit tests a multidict.CIMultiDict).
    raw_query is the undecoded query string. Parses the params it needs itself (query +
    x-www-form-urlencoded body, body wins on a clash, parse_qsl keep_blank_values). Returns the
    verified key; raises ServiceError(code, message, status).
    """
    authorization = (headers.get("authorization") or "").strip()
    query = _parse_form(raw_query)
    if authorization.startswith("ACS3-"):
        return _authenticate_acs3(method=method, raw_path=raw_path, query=query, headers=headers,
                                  body=body, authorization=authorization, lookup_key=lookup_key,
                                  nonces=nonces, now=now)
    params = dict(query)
    if _is_form(headers):
        params.update(_parse_form(body.decode("utf-8", errors="replace")))
    if not params.get("Signature") and authorization:
        raise ServiceError("IncompleteSignature", _MSG_INCOMPLETE, 400)
    return _authenticate_v1(method, params, lookup_key, nonces, now)


# --- v1 (HMAC-SHA1) -------------------------------------------------------------------------------


def _authenticate_v1(
    method: str,
    params: dict[str, str],
    lookup_key: Callable[[str], AccessKey | None],
    nonces: NonceStore,
    now: float,
) -> AccessKey:
    for name in _V1_REQUIRED:
        if not params.get(name):
            raise ServiceError(f"Missing{name}", f"{name} is mandatory for this action.", 400)
    if params["SignatureMethod"] != V1_SIGNATURE_METHOD:
        raise ServiceError("InvalidSignatureMethod", "Specified signature method is not supported.", 400)
    if params["SignatureVersion"] != V1_SIGNATURE_VERSION:
        raise ServiceError("InvalidSignatureVersion", "Specified signature version is not supported.", 400)
    _check_time(params["Timestamp"], now)
    key = _lookup(lookup_key, params["AccessKeyId"])
    _check_security_token(key, params.get("SecurityToken"))

    signed = {k: v for k, v in params.items() if k != "Signature"}
    string_to_sign = v1_string_to_sign(method, signed)
    expected = v1_signature(string_to_sign, key.secret)
    if not hmac.compare_digest(expected.encode(), params["Signature"].encode("utf-8", "replace")):
        raise ServiceError("SignatureDoesNotMatch", _MSG_MISMATCH + string_to_sign, 400)
    _check_nonce(nonces, key.id, params["SignatureNonce"], now)
    return key


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """``METHOD&%2F&`` + the sorted, RFC 3986-encoded ``k=v&...`` encoded once more.

    The same as ``Utils.get_rpcsignature`` (``quote(..., safe='~')`` then ``quote_plus``, which
    finds no space or ``/`` left to treat differently) and as aliyunsdkcore's composer
    (``urlencode`` + ``+``→``%20``, ``*``→``%2A``, then ``pathname2url``).
    """
    canonical = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(params.items()))
    return f"{method.upper()}&%2F&{_rfc3986(canonical)}"


def v1_signature(string_to_sign: str, secret: str) -> str:
    """base64 HMAC-SHA1 keyed with ``secret + '&'`` (the v1 scheme reserves a token slot after '&')."""
    digest = hmac.new((secret + "&").encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


# --- ACS3-HMAC-SHA256 -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Acs3Authorization:
    algorithm: str
    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def _authenticate_acs3(
    *,
    method: str,
    raw_path: str,
    query: dict[str, str],
    headers: Mapping[str, str],
    body: bytes,
    authorization: str,
    lookup_key: Callable[[str], AccessKey | None],
    nonces: NonceStore,
    now: float,
) -> AccessKey:
    auth = _parse_acs3_authorization(authorization)
    if auth.algorithm != ACS3_ALGORITHM:
        raise ServiceError("InvalidSignatureMethod", "Specified signature method is not supported.", 400)
    for name in _ACS3_REQUIRED_HEADERS:
        if not (headers.get(name) or "").strip():
            raise ServiceError("MissingParameter", f"{name} is mandatory for this action.", 400)
    # Every header the client had at signing time is signed (the SDK signs all of them); an
    # unsigned x-acs-* header could be injected by anyone on the path, so the gateway refuses it.
    signed = set(auth.signed_headers)
    present = {name.lower() for name in headers}
    if "host" not in signed or any(h.startswith("x-acs-") and h not in signed for h in present):
        raise ServiceError("IncompleteSignature", _MSG_INCOMPLETE, 400)
    _check_time(headers["x-acs-date"].strip(), now)
    key = _lookup(lookup_key, auth.access_key_id)
    _check_security_token(key, headers.get("x-acs-security-token"))

    request = acs3_canonical_request(method=method, raw_path=raw_path, query=query, headers=headers,
                                     signed_headers=auth.signed_headers,
                                     payload_sha256=hashlib.sha256(body).hexdigest())
    string_to_sign = f"{ACS3_ALGORITHM}\n{hashlib.sha256(request.encode('utf-8')).hexdigest()}"
    # The ACS3 key is the bare secret: unlike v1, no '&' is appended.
    expected = hmac.new(key.secret.encode("utf-8"), string_to_sign.encode("utf-8"),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), auth.signature.encode("utf-8", "replace")):
        raise ServiceError("SignatureDoesNotMatch", _MSG_MISMATCH + string_to_sign, 400)
    _check_nonce(nonces, key.id, headers["x-acs-signature-nonce"].strip(), now)
    return key


def _parse_acs3_authorization(value: str) -> _Acs3Authorization:
    """``<alg> Credential=<ak>,SignedHeaders=<a;b>,Signature=<hex>``; anything else is incomplete."""
    algorithm, _, rest = value.partition(" ")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, field = part.strip().partition("=")
        if not sep or name in fields:
            raise ServiceError("IncompleteSignature", _MSG_INCOMPLETE, 400)
        fields[name] = field.strip()
    if set(fields) != {"Credential", "SignedHeaders", "Signature"} or not all(fields.values()):
        raise ServiceError("IncompleteSignature", _MSG_INCOMPLETE, 400)
    names = tuple(fields["SignedHeaders"].split(";"))
    well_formed = all(_SIGNED_HEADER_RE.fullmatch(n) for n in names)
    if not well_formed or list(names) != sorted(set(names)):
        raise ServiceError("IncompleteSignature", _MSG_INCOMPLETE, 400)
    return _Acs3Authorization(algorithm, fields["Credential"], names, fields["Signature"])


def acs3_canonical_request(
    *,
    method: str,
    raw_path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload_sha256: str,
) -> str:
    """The ACS3 canonical request, as ``Utils.get_authorization`` builds it on the client.

    Query names are RFC 3986-encoded here as the published scheme says; the client leaves them
    raw, which is identical for every RPC parameter name (``[A-Za-z0-9.]``). Repeated headers are
    trimmed, sorted and comma-joined, as the client does. The payload hash is the caller's hash of
    the bytes received, never the client's ``x-acs-content-sha256`` claim, so a body changed in
    transit fails.
    """
    path = raw_path.split("?", 1)[0] or "/"
    canonical_query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(query.items()))
    canonical_headers = "".join(
        f"{name}:{','.join(sorted(v.strip() for v in _header_values(headers, name)))}\n"
        for name in signed_headers
    )
    return "\n".join(
        [method.upper(), path, canonical_query, canonical_headers, ";".join(signed_headers), payload_sha256]
    )


# --- shared ---------------------------------------------------------------------------------------


def _rfc3986(value: str) -> str:
    # quote() never encodes A-Z a-z 0-9 - _ . and, with safe='~', keeps '~': exactly RFC 3986's
    # unreserved set; everything else becomes %XX of its UTF-8 bytes (space %20, '*' %2A).
    return quote(value, safe="~", encoding="utf-8")


def _parse_form(text: str) -> dict[str, str]:
    # Blank values are kept: aliyunsdkcore signs "SignatureType=". '+' decodes to a space, which
    # is what the clients meant ("urlencode" on the wire, "%20" in the string to sign).
    return dict(parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="replace"))


def _is_form(headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


def _header_values(headers: Mapping[str, str], name: str) -> list[str]:
    if isinstance(headers, MultiMapping):
        return [str(v) for v in headers.getall(name, [])]
    value = headers.get(name)
    return [] if value is None else [value]


def _check_time(value: str, now: float) -> None:
    if not _TIMESTAMP_RE.fullmatch(value):
        raise ServiceError("InvalidTimeStamp.Format",
                           "Specified time stamp or date value is not well formatted.", 400)
    try:
        when = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:  # shape right, calendar wrong (month 13, Feb 30)
        raise ServiceError("InvalidTimeStamp.Format",
                           "Specified time stamp or date value is not well formatted.", 400) from None
    if abs(when - now) > TIMESTAMP_WINDOW_SECONDS:
        raise ServiceError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", 400)


def _lookup(lookup_key: Callable[[str], AccessKey | None], access_key_id: str) -> AccessKey:
    key = lookup_key(access_key_id)
    if key is None:
        raise ServiceError("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
    return key


def _check_security_token(key: AccessKey, sent: str | None) -> None:
    if key.security_token is None:
        if sent:
            raise ServiceError("InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.", 400)
        return
    if not sent:
        raise ServiceError("MissingSecurityToken", "SecurityToken is mandatory for this action.", 400)
    if not hmac.compare_digest(sent.encode("utf-8", "replace"), key.security_token.encode("utf-8")):
        raise ServiceError("InvalidSecurityToken.Mismatch",
                           "Specified SecurityToken is mismatch with the AccessKey.", 400)


def _check_nonce(nonces: NonceStore, access_key_id: str, nonce: str, now: float) -> None:
    # Called only after the signature verified: a forged request must not burn a real nonce.
    if not nonces.use(access_key_id, nonce, now):
        raise ServiceError("SignatureNonceUsed", "Specified signature nonce was used already.", 400)
