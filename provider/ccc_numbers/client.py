"""The CCC 2017-07-05 phone-number API, as four typed calls: list, add in bulk, modify, remove.

Owns everything on the wire: the Alibaba SDK (``alibabacloud_tea_openapi`` ``call_api``, RPC style,
ACS3-HMAC-SHA256 signatures, imported lazily so that check/diff/preview never pay its ~0.3 s import),
the PascalCase parameter and field names, retries, the process-wide rate limit, and the translation
of SDK exceptions and ``Success: false`` answers into :mod:`ccc_numbers.errors`.

Must not leak SDK types or wire dicts (callers get :class:`BoundNumber` / :class:`AddBulkOutcome`),
decide batching (the executor does; a too-large batch surfaces as :class:`BatchTooLargeError`), or
keep anything on a pickled object: a :class:`CccClient` is built per operation from
:func:`ccc_numbers.config.current` and refuses to be pickled.

Retries (ours; the SDK's are left off, see ccc-api.md §9 for its pitfalls): throttling
(``Throttling*``), 5xx and network errors, exponential backoff with full jitter from
``retry.base_delay_ms`` capped at ``retry.max_delay_ms``, ``x-acs-retry-after`` (ms) honoured when sent
(capped the same way), at most ``retry.max_attempts`` attempts and ``retry.budget_seconds`` in all.
**AddBulkPhoneNumbers is never re-sent once it may have been applied** (5xx, timeout, connection
lost after sending): the client raises with ``outcome_unknown=True`` and the executor lists before
adding again. Throttling refuses a request before applying it, so throttled adds are retried.
:func:`set_testing` / :func:`instant_retries` make retry waits instant for tests (like stamina's).

Rate limit: one token bucket per endpoint for the whole process, shared by every thread and client,
``requests_per_second`` per second with a burst of a tenth of that (at least 1).

Proxies: darabonba reads ``HTTP_PROXY``/``HTTPS_PROXY`` itself and passes them to requests
explicitly, so ``NO_PROXY`` is ignored and a loopback emulator call would go to a corporate proxy
(ccc-api.md §10). For loopback endpoints the client hides those variables from darabonba only,
only in the calling thread, only for the duration of the call (:func:`_install_environ_shim`),
instead of editing ``os.environ``, which other threads read concurrently. The shim also hides
``DEBUG`` from darabonba, whose ``DEBUG=sdk`` mode prints request headers (with the STS token) to
stderr, i.e. into the Pulumi log.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NoReturn

from .config import Credentials, Endpoint, RuntimeConfig, current, missing_credentials_error
from .errors import (
    ApiError,
    BatchTooLargeError,
    CccError,
    ConfigurationError,
    InvalidInputError,
    NotFoundError,
    ThrottledError,
    TransportError,
    plural,
    scrub,
)
from .models import Settings, Usage

__all__ = [
    "AddBulkOutcome",
    "BoundNumber",
    "CccClient",
    "TokenBucket",
    "instant_retries",
    "set_testing",
]

_log = logging.getLogger(__name__)

API_VERSION = "2017-07-05"
_USER_AGENT = "pulumi-ccc-numbers"


@dataclass(frozen=True)
class BoundNumber:
    """One live binding as the API reports it."""

    number: str
    phone_number_id: str
    instance_id: str
    settings: Settings
    trunks: int
    allow_outbound: bool
    test_only: bool
    remaining_time: int
    description: str
    contact_flow_name: str | None
    #: In the order of ``settings.skill_group_ids`` (sorted by id).
    skill_group_names: tuple[str, ...]


@dataclass(frozen=True)
class AddBulkOutcome:
    """What one AddBulkPhoneNumbers call did: bound numbers, and the ones refused per reason."""

    bound: tuple[BoundNumber, ...]
    #: Already bound to this or another instance (the API's ``UserdPhoneNumbers``).
    used: tuple[str, ...]
    #: The account or the number is in arrears.
    arrears: tuple[str, ...]
    #: Any other failure.
    failed: tuple[str, ...]


# ------------------------------------------------------------------------------------------------
# Test mode


class _Testing:
    """Process-wide retry test mode: waits are recorded instead of slept."""

    def __init__(self) -> None:
        #: set_testing(True): instant for the whole process.
        self.forced = False
        #: instant_retries() blocks open, in any thread. A count, not a saved previous value: two
        #: overlapping blocks in two threads would otherwise end with the first one's "before".
        self.depth = 0
        self.recorders: list[list[float]] = []
        self.lock = threading.Lock()

    @property
    def instant(self) -> bool:
        return self.forced or self.depth > 0


_testing = _Testing()


def set_testing(instant: bool) -> None:
    """Make retry waits instant (``True``) or real again (``False``) for the whole process.

    Attempts, budgets and retry-after still count as if the waits had happened; only the sleeping
    is skipped. The rate limiter is not affected (it is what some tests measure).
    """
    _testing.forced = instant


@contextmanager
def instant_retries() -> Iterator[list[float]]:
    """Make retry waits instant inside the block; yields the list of waits (seconds) that were skipped."""
    waits: list[float] = []
    with _testing.lock:
        _testing.depth += 1
        _testing.recorders.append(waits)
    try:
        yield waits
    finally:
        with _testing.lock:
            _testing.recorders.remove(waits)
            _testing.depth -= 1


def _retry_sleep(seconds: float) -> None:
    if _testing.instant:
        with _testing.lock:
            for recorder in _testing.recorders:
                recorder.append(seconds)
        return
    time.sleep(seconds)


# ------------------------------------------------------------------------------------------------
# Rate limit


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, at most ``capacity`` saved up.

    A caller that finds the bucket empty reserves the next token (the balance goes negative) and
    sleeps outside the lock until it is due, so waiters are served in arrival order without polling.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._rate = rate
        self._capacity = capacity if capacity is not None else _default_capacity(rate)
        self._tokens = self._capacity
        self._stamp = clock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self._refill()
            self._rate = rate
            self._capacity = _default_capacity(rate)
            self._tokens = min(self._tokens, self._capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait


def _default_capacity(rate: float) -> float:
    # A small burst keeps any one-second window close to `rate` (a full second's burst would allow
    # twice the rate across a window boundary, and real CCC limits are per second).
    return max(1.0, rate / 10.0)


_limiters: dict[str, TokenBucket] = {}
_limiters_lock = threading.Lock()


def _limiter_for(endpoint: Endpoint, rate: float) -> TokenBucket:
    with _limiters_lock:
        bucket = _limiters.get(endpoint.url)
        if bucket is None:
            bucket = _limiters[endpoint.url] = TokenBucket(rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate)
        return bucket


# ------------------------------------------------------------------------------------------------
# The SDK, loaded once, and the environment shim for darabonba


class _Sdk:
    """The SDK names this module uses, imported on first use."""

    def __init__(self) -> None:
        import darabonba.core  # noqa: PLC0415
        from alibabacloud_credentials.client import Client as CredentialClient  # noqa: PLC0415
        from alibabacloud_credentials.exceptions import CredentialException  # noqa: PLC0415
        from alibabacloud_tea_openapi import exceptions as tea_exceptions  # noqa: PLC0415
        from alibabacloud_tea_openapi import utils_models  # noqa: PLC0415
        from alibabacloud_tea_openapi.client import Client as OpenApiClient  # noqa: PLC0415
        from darabonba.runtime import RuntimeOptions  # noqa: PLC0415
        from Tea.exceptions import TeaException, UnretryableException  # noqa: PLC0415

        self.CredentialClient = CredentialClient
        self.CredentialException = CredentialException
        self.ThrottlingException = tea_exceptions.ThrottlingException
        self.Config = utils_models.Config
        self.Params = utils_models.Params
        self.OpenApiRequest = utils_models.OpenApiRequest
        self.OpenApiClient = OpenApiClient
        self.RuntimeOptions = RuntimeOptions
        self.TeaException = TeaException
        self.UnretryableException = UnretryableException
        _install_environ_shim(darabonba.core)


_sdk_instance: _Sdk | None = None
_sdk_lock = threading.Lock()


def _sdk() -> _Sdk:
    global _sdk_instance  # noqa: PLW0603 - a lazy import, once per process
    with _sdk_lock:
        if _sdk_instance is None:
            _sdk_instance = _Sdk()
        return _sdk_instance


_PROXY_VARIABLES = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"}
)
_direct = threading.local()


class _EnvironView(Mapping[str, str]):
    """``os.environ`` as darabonba should see it: no DEBUG, and no proxies during a direct call."""

    def _hidden(self, key: str) -> bool:
        return key == "DEBUG" or (key in _PROXY_VARIABLES and getattr(_direct, "active", False))

    def __getitem__(self, key: str) -> str:
        if self._hidden(key):
            raise KeyError(key)
        return os.environ[key]

    def __iter__(self) -> Iterator[str]:
        return (k for k in os.environ if not self._hidden(k))

    def __len__(self) -> int:
        return sum(1 for _ in self)


class _OsShim:
    """``os`` as ``darabonba.core`` sees it: everything but the environment passes through."""

    def __init__(self) -> None:
        self.environ = _EnvironView()

    def getenv(self, key: str, default: str | None = None) -> str | None:
        return self.environ.get(key, default)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def _install_environ_shim(module: ModuleType) -> None:
    if not isinstance(getattr(module, "os", None), _OsShim):
        module.os = _OsShim()  # type: ignore[attr-defined]


@contextmanager
def _no_proxy(active: bool) -> Iterator[None]:
    previous = getattr(_direct, "active", False)
    _direct.active = active
    try:
        yield
    finally:
        _direct.active = previous


_default_chain: Any = None
_default_chain_lock = threading.Lock()


def _default_credentials(sdk: _Sdk, endpoint: Endpoint) -> Any:
    """The default credential chain, resolved once per process; one clear error when it finds nothing."""
    global _default_chain  # noqa: PLW0603 - shared so ECS role lookups are not repeated per client
    with _default_chain_lock:
        if _default_chain is None:
            chain = sdk.CredentialClient()
            try:
                chain.get_credential()
            except sdk.CredentialException:
                raise missing_credentials_error(endpoint) from None
            _default_chain = chain
        return _default_chain


# ------------------------------------------------------------------------------------------------
# Error translation


_NOT_FOUND_PREFIXES = ("NotExist.", "NotExists.")
# 404 codes that are about the request or the caller, not about the resource being gone: treating
# them as "gone" would let a delete with a wrong key succeed silently.
_NOT_GONE_CODES = frozenset({
    "InvalidAccessKeyId.NotFound", "InvalidApi.NotFound", "InvalidAction.NotFound", "InvalidVersion",
})
_SERVER_CODES = frozenset({"InternalError", "ServiceUnavailable", "InternalServerError", "ServiceTimeout"})
# The gateway refused the credentials themselves: the user's fix is in config or environment.
_CREDENTIAL_CODE_PREFIXES = (
    "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidAccessKeySecret", "InvalidSecurityToken",
    "MissingSecurityToken",
)

# darabonba's RuntimeError for a body that is not JSON (a load balancer's HTML page, say).
_NOT_JSON = "Failed to parse the value as json"
_BATCH_CAP = re.compile(r"less than or equal to (\d+)")


def _credential_hint(credentials: Credentials | None) -> str:
    """Where the refused key came from and which settings change it (never the key's values)."""
    if credentials is None:
        where = "the default credential chain of alibabacloud-credentials"
    else:
        where = f"{credentials.source} (AccessKeyId {credentials.access_key_id})"
    return (
        f"The AccessKey from {where} was refused: check ccc:accessKeyId, ccc:accessKeySecret and "
        f"ccc:securityToken, or ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET and "
        f"ALIBABA_CLOUD_SECURITY_TOKEN"
    )


def _api_error(
    action: str,
    *,
    code: str,
    message: str,
    http_status: int,
    request_id: str | None,
    retry_after_ms: int | None = None,
    add_bulk: bool = False,
) -> ApiError:
    if code.startswith("Throttling"):
        # A throttled request is refused before it is applied: safe to send again.
        return ThrottledError(
            action, code=code, message=message, http_status=http_status, request_id=request_id,
            retry_after_ms=retry_after_ms,
        )
    if http_status >= 500 or code in _SERVER_CODES:
        return ThrottledError(
            action, code=code, message=message, http_status=http_status, request_id=request_id,
            outcome_unknown=True, retry_after_ms=retry_after_ms,
        )
    if code not in _NOT_GONE_CODES and (
        code.startswith(_NOT_FOUND_PREFIXES) or code.endswith(".NotFound") or http_status == 404
    ):
        return NotFoundError(
            action, code=code, message=message, http_status=http_status, request_id=request_id
        )
    if add_bulk and code == "Parameter.Maximum":
        found = _BATCH_CAP.search(message)
        return BatchTooLargeError(
            action, code=code, message=message, http_status=http_status, request_id=request_id,
            maximum=int(found.group(1)) if found else None,
        )
    if http_status == 200:
        # Success:false with a code we do not know: not retryable, but not known to be the input's fault.
        return ApiError(action, code=code, message=message, http_status=http_status, request_id=request_id)
    return InvalidInputError(
        action, code=code, message=message, http_status=http_status, request_id=request_id
    )


# Connection failures before anything was sent: the request was certainly not applied.
_NOT_SENT = (
    "Connection refused", "NewConnectionError", "Failed to establish a new connection",
    "NameResolutionError", "Name or service not known", "nodename nor servname", "getaddrinfo failed",
    "Temporary failure in name resolution", "ConnectTimeout", "SSLError", "CERTIFICATE_VERIFY_FAILED",
    "WRONG_VERSION_NUMBER",
)


_CLOSED = (
    "RemoteDisconnected", "Connection aborted", "Connection reset", "BadStatusLine", "IncompleteRead",
    "ProtocolError", "ConnectionResetError",
)


def _transport_reason(  # noqa: PLR0911 - one return per kind of failure: a table
    text: str, endpoint: Endpoint, connect_ms: int, read_ms: int
) -> tuple[str, bool]:
    """A sentence for a failed exchange, and whether the request may have been applied."""
    url = endpoint.url
    if "ConnectTimeout" in text or "connect timeout=" in text:
        return f"could not connect to {url} within {connect_ms} ms", False
    if "SSLError" in text or "CERTIFICATE_VERIFY_FAILED" in text or "WRONG_VERSION_NUMBER" in text:
        hint = " (is it plain HTTP? write the endpoint as http://…)" if "WRONG_VERSION_NUMBER" in text else ""
        return f"the TLS handshake with {url} failed{hint}", False
    if "Connection refused" in text:
        return f"could not connect to {url}: connection refused", False
    if any(marker in text for marker in _NOT_SENT):
        return f"could not connect to {url}: {_last_cause(text)}", False
    if "Read timed out" in text or "ReadTimeout" in text or "timed out" in text:
        return f"no answer from {url} within {read_ms} ms", True
    if any(marker in text for marker in _CLOSED):
        return f"the connection to {url} closed before an answer arrived", True
    return f"the request to {url} failed: {_last_cause(text)}", True


def _last_cause(text: str) -> str:
    # requests nests causes: "...(Caused by NewConnectionError('...: [Errno -2] Name or service not known'))".
    match = re.search(r"\[Errno [^\]]+\] ([^'\")]+)", text)
    if match:
        return match.group(1).strip()
    return text if len(text) <= 300 else text[:300] + "…"


# ------------------------------------------------------------------------------------------------
# The client


def _account(err: CccError, attempt: int, earlier_unknown: bool) -> None:
    """Record the attempts on the error; one earlier attempt of unknown outcome makes the call's unknown."""
    err.attempts = attempt
    if earlier_unknown:
        err.outcome_unknown = True


class CccClient:
    """Typed CCC phone-number calls with retries, rate limit and error translation.

    Cheap to build (the SDK import and, for ``embedded``, the emulator start happen once per
    process); build one per operation and never store it on the provider.
    """

    def __init__(self, runtime: RuntimeConfig | None = None) -> None:
        self._runtime = runtime if runtime is not None else current()
        self._settings = self._runtime.settings
        self._secrets = self._runtime.secrets()
        self._lock = threading.Lock()
        self._endpoint: Endpoint | None = None
        self._api: Any = None
        self._limiter: TokenBucket | None = None

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError(
            "CccClient holds credentials and connections and is never pickled; build one per operation"
        )

    # -- the four calls ------------------------------------------------------------------------

    def list_numbers(self, instance_id: str) -> tuple[BoundNumber, ...]:
        """Every number bound to the instance (ListPhoneNumbers, not only outbound ones)."""
        action = f"listing the phone numbers of CCC instance {instance_id}"
        body = self._call(
            "ListPhoneNumbers", {"InstanceId": instance_id, "OutboundOnly": "false"}, action, resend=True
        )
        items = _items(body.get("PhoneNumbers"), "PhoneNumber")
        return tuple(self._bound(action, item, instance_id) for item in items)

    def add_bulk(self, instance_id: str, numbers: Sequence[str], settings: Settings) -> AddBulkOutcome:
        """Bind ``numbers`` with one AddBulkPhoneNumbers call; refused numbers come back per reason.

        Raises :class:`BatchTooLargeError` when the API refuses the batch size (nothing bound), and
        errors with ``outcome_unknown=True`` when the call may have been applied: list before retrying.
        """
        action = f"adding {plural(len(numbers), 'phone number')} to CCC instance {instance_id}"
        params: dict[str, Any] = {
            "InstanceId": instance_id,
            "PhoneNumber": list(numbers),
            "Usage": settings.usage.value,
        }
        _put_settings(params, settings, usage=False)
        body = self._call("AddBulkPhoneNumbers", params, action, resend=False)
        return AddBulkOutcome(
            bound=tuple(self._bound(action, item, instance_id) for item in _items(body.get("PhoneNumbers"),
                                                                                 "PhoneNumber")),
            used=_strings(body.get("UserdPhoneNumbers"), "UserdPhoneNumber"),
            arrears=_strings(body.get("ArrearagePhoneNumbers"), "ArrearagePhoneNumber"),
            failed=_strings(body.get("FailedPhoneNumbers"), "FailedPhoneNumber"),
        )

    def modify(self, instance_id: str, phone_number_id: str, settings: Settings) -> BoundNumber:
        """Set a bound number's usage, contact flow and skill groups.

        The full settings are sent every time. With no contact flow or no skill groups, the parameter
        is left out: the emulator then clears them; whether the real service keeps or clears them is
        undocumented (ccc-api.md §12), so a caller that clears them should list afterwards.
        """
        action = f"changing phone number {phone_number_id} in CCC instance {instance_id}"
        params: dict[str, Any] = {"InstanceId": instance_id, "PhoneNumberId": phone_number_id}
        _put_settings(params, settings, usage=True)
        body = self._call("ModifyPhoneNumber", params, action, resend=True)
        item = body.get("PhoneNumber")
        if not isinstance(item, Mapping):
            raise CccError(action, "the answer has no PhoneNumber object", request_id=_request_id(body))
        return self._bound(action, item, instance_id, phone_number_id=phone_number_id)

    def remove(self, instance_id: str, phone_number_id: str) -> None:
        """Unbind a number (RemovePhoneNumber); :class:`NotFoundError` when it is not bound (any more)."""
        action = f"removing phone number {phone_number_id} from CCC instance {instance_id}"
        params = {"InstanceId": instance_id, "PhoneNumberId": phone_number_id}
        self._call("RemovePhoneNumber", params, action, resend=True)

    # -- plumbing ------------------------------------------------------------------------------

    def _connect(self) -> tuple[Any, Endpoint, TokenBucket]:
        with self._lock:
            if self._api is None or self._endpoint is None or self._limiter is None:
                sdk = _sdk()
                endpoint = self._runtime.endpoint()
                settings = self._settings
                creds = self._runtime.credentials
                config = sdk.Config(
                    endpoint=endpoint.host,
                    protocol=endpoint.protocol,
                    region_id=settings.region,
                    connect_timeout=settings.connect_timeout_ms,
                    read_timeout=settings.read_timeout_ms,
                    max_idle_conns=max(10, settings.max_concurrency * 2),
                    user_agent=_USER_AGENT,
                )
                if creds is not None:
                    config.access_key_id = creds.access_key_id
                    config.access_key_secret = creds.access_key_secret
                    config.security_token = creds.security_token
                else:
                    config.credential = _default_credentials(sdk, endpoint)
                self._api = sdk.OpenApiClient(config)
                self._endpoint = endpoint
                self._limiter = _limiter_for(endpoint, settings.requests_per_second)
            return self._api, self._endpoint, self._limiter

    def _call(self, api_action: str, params: dict[str, Any], action: str, *, resend: bool) -> dict[str, Any]:
        """One API call with retries; ``resend=False`` never repeats a request that may have been applied."""
        api, endpoint, limiter = self._connect()
        policy = self._settings.retry
        started = time.monotonic()
        virtual_wait = 0.0
        attempt = 0
        earlier_unknown = False  # an earlier attempt may have been applied
        while True:
            attempt += 1
            limiter.acquire()
            try:
                body = self._send(api, endpoint, api_action, params, action)
                _log.debug("%s: %s ok (attempt %d, request id %s)", action, api_action, attempt,
                           _request_id(body))
                return body
            except (ThrottledError, TransportError) as err:
                _account(err, attempt, earlier_unknown)
                if err.outcome_unknown and not resend:
                    _log.debug("%s: %s outcome unknown, not re-sent: %s", action, api_action, err.reason)
                    raise
                if attempt >= policy.max_attempts:
                    if attempt > 1:
                        err.retry_note = f"gave up after {attempt} attempts"
                    raise
                asked = err.retry_after_ms if isinstance(err, ThrottledError) else None
                delay = self._backoff(attempt, asked)
                spent = time.monotonic() - started + virtual_wait
                if spent + delay > policy.budget_seconds:
                    err.retry_note = (
                        f"gave up after {plural(attempt, 'attempt')}: waiting {delay:.1f} s more would "
                        f"exceed the retry budget of {policy.budget_seconds:g} s"
                    )
                    raise
                earlier_unknown = err.outcome_unknown
                _log.debug("%s: %s attempt %d failed (%s); retrying in %.3f s", action, api_action, attempt,
                           err.reason, delay)
                if _testing.instant:
                    virtual_wait += delay
                _retry_sleep(delay)
            except CccError as err:
                _account(err, attempt, earlier_unknown)
                if attempt > 1:
                    err.retry_note = f"on attempt {attempt}"
                raise

    def _backoff(self, attempt: int, retry_after_ms: int | None) -> float:
        policy = self._settings.retry
        cap = policy.max_delay_ms / 1000.0
        if retry_after_ms is not None and retry_after_ms > 0:
            return min(retry_after_ms / 1000.0, cap)
        ceiling = min(cap, policy.base_delay_ms / 1000.0 * math.pow(2, attempt - 1))
        return random.uniform(0.0, ceiling)

    def _send(
        self, api: Any, endpoint: Endpoint, api_action: str, params: dict[str, Any], action: str
    ) -> dict[str, Any]:
        sdk = _sdk()
        call = sdk.Params(
            action=api_action, version=API_VERSION, protocol=endpoint.protocol.upper(), pathname="/",
            method="POST", auth_type="AK", style="RPC", req_body_type="formData", body_type="json",
        )
        add_bulk = api_action == "AddBulkPhoneNumbers"
        try:
            with _no_proxy(endpoint.is_loopback):
                response = api.call_api(call, sdk.OpenApiRequest(body=params), sdk.RuntimeOptions())
        except sdk.TeaException as exc:
            raise self._translate(exc, endpoint, action, add_bulk=add_bulk) from None
        except sdk.CredentialException:
            raise missing_credentials_error(endpoint) from None
        body = response.get("body") if isinstance(response, Mapping) else None
        if not isinstance(body, dict):
            raise TransportError(
                action, f"the answer from {endpoint.url} was not a JSON object", outcome_unknown=True
            )
        if body.get("Success") is False:
            raise _api_error(
                action,
                code=str(body.get("Code") or "Unknown"),
                message=scrub(str(body.get("Message") or ""), self._secrets),
                http_status=_int_or(body.get("HttpStatusCode"), 200),
                request_id=_request_id(body),
                add_bulk=add_bulk,
            )
        return body

    def _translate(
        self, exc: Any, endpoint: Endpoint, action: str, *, add_bulk: bool
    ) -> CccError | ConfigurationError:
        sdk = _sdk()
        status = getattr(exc, "status_code", None)
        if isinstance(exc, sdk.UnretryableException) or not isinstance(status, int):
            inner = getattr(exc, "inner_exception", None)
            if isinstance(inner, sdk.CredentialException):
                return missing_credentials_error(endpoint)
            if inner is not None and (
                type(inner).__name__ in ("JSONDecodeError", "AttributeError")
                or str(inner).startswith(_NOT_JSON)
            ):
                return TransportError(
                    action,
                    f"the answer from {endpoint.url} was not a CCC JSON document (a proxy or gateway "
                    f"error page?)",
                    outcome_unknown=True,
                )
            text = scrub(str(getattr(inner, "message", None) or inner or exc), self._secrets)
            reason, unknown = _transport_reason(
                text, endpoint, self._settings.connect_timeout_ms, self._settings.read_timeout_ms
            )
            _log.debug("%s: transport error: %s", action, text)
            return TransportError(action, reason, outcome_unknown=unknown)
        data = getattr(exc, "data", None)
        data = data if isinstance(data, Mapping) else {}
        code = str(data.get("Code") or data.get("code") or getattr(exc, "code", None) or "Unknown")
        message = data.get("Message") or data.get("message")
        if message is None:
            message = getattr(exc, "message", "") or ""
        request_id = data.get("RequestId") or data.get("requestId") or getattr(exc, "request_id", None)
        retry_after = getattr(exc, "retry_after", None)
        error = _api_error(
            action,
            code=code,
            message=scrub(str(message), self._secrets),
            http_status=status,
            request_id=str(request_id) if request_id and request_id != "None" else None,
            retry_after_ms=retry_after if isinstance(retry_after, int) else None,
            add_bulk=add_bulk,
        )
        if code.startswith(_CREDENTIAL_CODE_PREFIXES):
            error.hint = _credential_hint(self._runtime.credentials)
        return error

    def _bound(
        self, action: str, item: Mapping[str, Any], instance_id: str, *, phone_number_id: str | None = None
    ) -> BoundNumber:
        try:
            usage = Usage(str(item.get("Usage")))
        except ValueError:
            raise CccError(action, f"the API reported an unknown usage {item.get('Usage')!r}") from None
        number = item.get("Number")
        pid = item.get("PhoneNumberId") or phone_number_id
        if not isinstance(number, str) or not isinstance(pid, str):
            raise CccError(action, "the API reported a phone number without Number or PhoneNumberId")
        flow = item.get("ContactFlow")
        flow = flow if isinstance(flow, Mapping) else {}
        groups = sorted(
            (str(g.get("SkillGroupId")), str(g.get("SkillGroupName") or ""))
            for g in _items(item.get("SkillGroups"), "SkillGroup")
            if g.get("SkillGroupId")
        )
        unique = dict(groups)
        return BoundNumber(
            number=number,
            phone_number_id=pid,
            instance_id=str(item.get("InstanceId") or instance_id),
            settings=Settings(
                usage=usage,
                contact_flow_id=_opt_str(flow.get("ContactFlowId")),
                skill_group_ids=tuple(unique),
            ),
            trunks=_int_or(item.get("Trunks"), 0),
            allow_outbound=bool(item.get("AllowOutbound")),
            test_only=bool(item.get("TestOnly")),
            remaining_time=_int_or(item.get("RemainingTime"), 0),
            description=str(item.get("PhoneNumberDescription") or ""),
            contact_flow_name=_opt_str(flow.get("ContactFlowName")),
            skill_group_names=tuple(unique.values()),
        )


def _put_settings(params: dict[str, Any], settings: Settings, *, usage: bool) -> None:
    if usage:
        params["Usage"] = settings.usage.value
    if settings.contact_flow_id:
        params["ContactFlowId"] = settings.contact_flow_id
    if settings.skill_group_ids:
        # A list in the form body is flattened by the SDK to SkillGroupId.1..N.
        params["SkillGroupId"] = list(settings.skill_group_ids)


def _items(wrapper: Any, name: str) -> list[Mapping[str, Any]]:
    """``{"PhoneNumber": [...]}`` → the list; any level may be missing or null (ccc-api.md §1)."""
    if not isinstance(wrapper, Mapping):
        return []
    items = wrapper.get(name)
    if isinstance(items, Mapping):
        items = [items]
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, Mapping)]


def _strings(wrapper: Any, name: str) -> tuple[str, ...]:
    if not isinstance(wrapper, Mapping):
        return ()
    items = wrapper.get(name)
    if isinstance(items, str):
        items = [items]
    if not isinstance(items, list):
        return ()
    return tuple(str(i) for i in items if i is not None)


def _opt_str(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _int_or(value: Any, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return default


def _request_id(body: Mapping[str, Any]) -> str | None:
    value = body.get("RequestId")
    return str(value) if value else None
