"""The CCC 2017-07-05 API on the wire, as typed calls: numbers (list, add in bulk, modify, remove),
contact flows and skill groups (list), and an unsigned probe of an endpoint.

Owns everything on the wire, sent exactly as Alibaba's own generated client sends it: the calls go
through ``alibabacloud_ccc20170705``'s ``Client`` and its request and response models (RPC style,
``do_rpcrequest``, v1 HMAC-SHA1 signature, form body; ccc-api.md §1). The SDK is imported lazily,
at the first call (or by :func:`load_sdk`), so that check, diff and a preview never pay its
~0.5 s import. This module also owns the PascalCase
names that are left (the success envelope of the generic :meth:`CccClient._call`), where the
endpoint comes from (:func:`resolve_endpoint`, which starts the embedded emulator), and the
translation of SDK exceptions and ``Success: false`` answers into :mod:`ccc_numbers.errors`.

Must not leak SDK types (callers get :class:`BoundNumber`, :class:`AddBulkOutcome`,
:class:`ContactFlow`, :class:`SkillGroup`), decide batching (the executor does; a too-large batch
surfaces as :class:`BatchTooLargeError`, another parameter refusal as :class:`InvalidParameterError`),
decide retries (:mod:`ccc_numbers.retry` does; this module hands it one attempt at a time), or keep
anything on a pickled object: a :class:`CccClient` is built per operation from
:func:`ccc_numbers.config.current` and refuses to be pickled.

The SDK's own retries stay off (``Config.retry_options`` unset: one attempt per call; ccc-api.md §9
for its pitfalls). The generated client hard-codes HTTPS; ``Config.protocol`` carries the endpoint's
protocol instead (ccc-api.md §10), so an ``http://`` emulator works.

Proxies: darabonba reads ``HTTP_PROXY``/``HTTPS_PROXY`` itself and passes them to requests
explicitly, so ``NO_PROXY`` is ignored and a loopback emulator call would go to a corporate proxy
(ccc-api.md §10). For loopback endpoints the client hides those variables from darabonba only,
only in the calling thread, only for the duration of the call (:func:`_install_environ_shim`),
instead of editing ``os.environ``, which other threads read concurrently. The shim also hides
``DEBUG`` from darabonba, whose ``DEBUG=sdk`` mode prints request headers to stderr, i.e. into the
Pulumi log. Every SDK text that reaches an error or a log line passes through
:func:`ccc_numbers.errors.scrub`: a v1 request carries ``AccessKeyId``, ``Signature`` and the STS
``SecurityToken`` in its URL, which the SDK quotes in connection errors and urllib3 in its DEBUG
lines (a filter on urllib3's loggers scrubs those, :class:`_ScrubSignedUrls`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NoReturn, TypeVar

from .config import Credentials, Endpoint, ProviderSettings, RuntimeConfig, current, missing_credentials_error
from .errors import (
    ApiError,
    BatchTooLargeError,
    CccError,
    ConfigurationError,
    InvalidInputError,
    InvalidParameterError,
    NotFoundError,
    ThrottledError,
    TransportError,
    plural,
    scrub,
)
from .models import Settings, Usage
from .retry import TokenBucket, call_with_retries, limiter_for

__all__ = [
    "API_VERSION",
    "AddBulkOutcome",
    "BoundNumber",
    "CccClient",
    "ContactFlow",
    "CredentialIdentity",
    "Probe",
    "SkillGroup",
    "default_credential_identity",
    "load_sdk",
    "probe",
    "refusal_kind",
    "resolve_endpoint",
]

_log = logging.getLogger(__name__)

API_VERSION = "2017-07-05"
_USER_AGENT = "pulumi-ccc-numbers"

R = TypeVar("R")


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


@dataclass(frozen=True)
class ContactFlow:
    """A contact flow (IVR) of an instance, as ListContactFlows reports it."""

    contact_flow_id: str
    name: str
    #: ``Mainflow``, ``Subflow``, …; empty when the API did not say.
    type: str


@dataclass(frozen=True)
class SkillGroup:
    """A skill group of an instance, as ListSkillGroups reports it."""

    skill_group_id: str
    name: str


@dataclass(frozen=True)
class Probe:
    """What an unsigned request to an endpoint got back (``ccc-numbers doctor``'s first contact)."""

    endpoint: Endpoint
    #: The HTTP status of the answer (a CCC gateway answers an unsigned request with a 4xx).
    http_status: int
    #: The answer's ``Code`` when it was a CCC JSON error document, else None.
    code: str | None
    #: The answer's ``Date`` header as a POSIX time, when it had a readable one.
    server_time: float | None
    #: Local clock at the middle of the exchange (POSIX time).
    local_time: float
    #: Round trip, seconds.
    elapsed: float


@dataclass(frozen=True)
class CredentialIdentity:
    """Which AccessKey a call would be signed with: where it came from and its id (never its secret)."""

    source: str
    access_key_id: str


# ------------------------------------------------------------------------------------------------
# Where the API is


def resolve_endpoint(settings: ProviderSettings) -> Endpoint:
    """The endpoint to call; starts the embedded emulator on first use when ``ccc:endpoint: embedded``."""
    if settings.embedded:
        from .embedded import ensure_started  # noqa: PLC0415 - only embedded stacks pay for the emulator

        return ensure_started(settings.embedded_state_path)
    return settings.static_endpoint()


# ------------------------------------------------------------------------------------------------
# The SDK, loaded once, and the environment shim for darabonba


class _Sdk:
    """The SDK names this module uses, imported on first use."""

    def __init__(self) -> None:
        import darabonba.core  # noqa: PLC0415
        from alibabacloud_ccc20170705 import models  # noqa: PLC0415
        from alibabacloud_ccc20170705.client import Client  # noqa: PLC0415
        from alibabacloud_credentials.client import Client as CredentialClient  # noqa: PLC0415
        from alibabacloud_credentials.exceptions import CredentialException  # noqa: PLC0415
        from alibabacloud_tea_openapi.models import Config, OpenApiRequest  # noqa: PLC0415
        from alibabacloud_tea_util.models import RuntimeOptions  # noqa: PLC0415
        from Tea.exceptions import TeaException, UnretryableException  # noqa: PLC0415

        self.Client = Client
        self.models = models
        self.CredentialClient = CredentialClient
        self.CredentialException = CredentialException
        self.Config = Config
        self.OpenApiRequest = OpenApiRequest
        self.RuntimeOptions = RuntimeOptions
        self.TeaException = TeaException
        self.UnretryableException = UnretryableException
        _install_environ_shim(darabonba.core)
        _install_log_scrubber()


_sdk_instance: _Sdk | None = None
_sdk_lock = threading.Lock()


def _sdk() -> _Sdk:
    global _sdk_instance  # noqa: PLW0603 - a lazy import, once per process
    with _sdk_lock:
        if _sdk_instance is None:
            _sdk_instance = _Sdk()
        return _sdk_instance


def load_sdk() -> None:
    """Import the Alibaba SDK now (once per process; later calls return at once, or wait for the first)."""
    _sdk()


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


class _ScrubSignedUrls(logging.Filter):
    """Drops ``AccessKeyId``/``Signature``/``SecurityToken`` values from the HTTP stack's log lines.

    A v1 request carries them in its URL, and urllib3 logs every request line at DEBUG
    (``"POST /?…&SecurityToken=…&Signature=… HTTP/1.1" 200``): a provider host run with debug
    logging would otherwise print the STS token into the Pulumi log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


#: The loggers that quote request URLs (a filter applies only to records of its own logger).
_URL_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.poolmanager", "urllib3.util.retry")


def _install_log_scrubber() -> None:
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubSignedUrls) for f in logger.filters):
            logger.addFilter(_ScrubSignedUrls())


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


def default_credential_identity(endpoint: Endpoint) -> CredentialIdentity:
    """The key the default credential chain finds (profile, ECS RAM role, …): its provider and id.

    Raises the one "no credentials anywhere" :class:`ConfigurationError` when the chain finds none.
    """
    sdk = _sdk()
    model = _default_credentials(sdk, endpoint).get_credential()
    provider = getattr(model, "provider_name", None) or "unknown provider"
    return CredentialIdentity(f"the default credential chain ({provider})", str(model.access_key_id or ""))


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
# 4xx codes that are about who is calling, how the request was signed or routed, not about its
# parameters: splitting a batch refused so cannot help (InvalidParameterError is everything else).
_NOT_PARAMETER_PREFIXES = (
    *_CREDENTIAL_CODE_PREFIXES, "Forbidden", "NoPermission", "Unauthorized", "AccessDenied",  # permissions
    "InvalidTimeStamp", "SignatureNonceUsed", "IncompleteSignature", "InvalidSignature", "MissingSignature",
    "InvalidApi", "InvalidAction", "InvalidVersion", "MissingAction", "MissingVersion", "MissingAccessKeyId",
    "MissingTimestamp",
)

_PERMISSION_CODE_PREFIXES = ("Forbidden", "NoPermission", "Unauthorized", "AccessDenied")


def refusal_kind(err: ApiError) -> str | None:
    """Why the gateway refused a call before looking at its parameters, if it did.

    ``"credentials"`` (the AccessKey or its signature), ``"clock"`` (the request's timestamp is
    outside the service's window), ``"permission"`` (the key may not call this), else None.
    """
    if err.code.startswith(_CREDENTIAL_CODE_PREFIXES):
        return "credentials"
    if err.code.startswith("InvalidTimeStamp"):
        return "clock"
    if err.code.startswith(_PERMISSION_CODE_PREFIXES) or err.http_status == 403:
        return "permission"
    return None


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


def _api_error(  # noqa: PLR0911 - one return per class of answer: a table
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
    if http_status not in (401, 403) and not code.startswith(_NOT_PARAMETER_PREFIXES):
        return InvalidParameterError(
            action, code=code, message=message, http_status=http_status, request_id=request_id
        )
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


class CccClient:
    """Typed CCC calls through the generated SDK, with retries, rate limit and error translation.

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

    @property
    def endpoint(self) -> Endpoint:
        """Where this client's calls go (resolved on first use; ``embedded`` starts the emulator)."""
        with self._lock:
            if self._endpoint is None:
                self._endpoint = resolve_endpoint(self._settings)
            return self._endpoint

    @property
    def credentials(self) -> Credentials | None:
        """The configured AccessKey, or None for the default credential chain."""
        return self._runtime.credentials

    # -- phone numbers ---------------------------------------------------------------------------

    def list_numbers(self, instance_id: str) -> tuple[BoundNumber, ...]:
        """Every number bound to the instance (ListPhoneNumbers, not only outbound ones)."""
        action = f"listing the phone numbers of CCC instance {instance_id}"
        request = _sdk().models.ListPhoneNumbersRequest(instance_id=instance_id, outbound_only=False)
        body = self._invoke(
            "ListPhoneNumbers", action, lambda api, rt: api.list_phone_numbers_with_options(request, rt),
            resend=True,
        )
        items = body.phone_numbers.phone_number if body.phone_numbers is not None else None
        return tuple(self._bound(action, item, instance_id) for item in items or ())

    def add_bulk(self, instance_id: str, numbers: Sequence[str], settings: Settings) -> AddBulkOutcome:
        """Bind ``numbers`` with one AddBulkPhoneNumbers call; refused numbers come back per reason.

        Raises :class:`BatchTooLargeError` when the API refuses the batch size (nothing bound),
        :class:`InvalidParameterError` for another refusal of the parameters (nothing bound), and
        errors with ``outcome_unknown=True`` when the call may have been applied: list before retrying.
        """
        action = f"adding {plural(len(numbers), 'phone number')} to CCC instance {instance_id}"
        request = _sdk().models.AddBulkPhoneNumbersRequest(
            instance_id=instance_id,
            phone_number=list(numbers),
            usage=settings.usage.value,
            contact_flow_id=settings.contact_flow_id or None,
            skill_group_id=list(settings.skill_group_ids) or None,
        )
        body = self._invoke(
            "AddBulkPhoneNumbers", action,
            lambda api, rt: api.add_bulk_phone_numbers_with_options(request, rt), resend=False,
        )
        bound = body.phone_numbers.phone_number if body.phone_numbers is not None else None
        return AddBulkOutcome(
            bound=tuple(self._bound(action, item, instance_id) for item in bound or ()),
            used=_strings(body.userd_phone_numbers, "userd_phone_number"),
            arrears=_strings(body.arrearage_phone_numbers, "arrearage_phone_number"),
            failed=_strings(body.failed_phone_numbers, "failed_phone_number"),
        )

    def modify(self, instance_id: str, phone_number_id: str, settings: Settings) -> BoundNumber:
        """Set a bound number's usage, contact flow and skill groups.

        The full settings are sent every time. With no contact flow or no skill groups, the parameter
        is left out: the emulator then clears them; whether the real service keeps or clears them is
        undocumented (ccc-api.md §12), so a caller that clears them should list afterwards.
        """
        action = f"changing phone number {phone_number_id} in CCC instance {instance_id}"
        request = _sdk().models.ModifyPhoneNumberRequest(
            instance_id=instance_id,
            phone_number_id=phone_number_id,
            usage=settings.usage.value,
            contact_flow_id=settings.contact_flow_id or None,
            skill_group_id=list(settings.skill_group_ids) or None,
        )
        body = self._invoke(
            "ModifyPhoneNumber", action, lambda api, rt: api.modify_phone_number_with_options(request, rt),
            resend=True,
        )
        if body.phone_number is None:
            raise CccError(
                action, "the answer has no PhoneNumber object", request_id=_opt_str(body.request_id)
            )
        return self._bound(action, body.phone_number, instance_id, phone_number_id=phone_number_id)

    def remove(self, instance_id: str, phone_number_id: str) -> None:
        """Unbind a number (RemovePhoneNumber); :class:`NotFoundError` when the API does not know the id.

        "Not found" is not proof that the number is unbound (the 2017 codes are undocumented): a
        caller that counts it as done confirms with a listing.
        """
        action = f"removing phone number {phone_number_id} from CCC instance {instance_id}"
        request = _sdk().models.RemovePhoneNumberRequest(
            instance_id=instance_id, phone_number_id=phone_number_id
        )
        self._invoke(
            "RemovePhoneNumber", action, lambda api, rt: api.remove_phone_number_with_options(request, rt),
            resend=True,
        )

    # -- what bindings refer to --------------------------------------------------------------------

    def list_contact_flows(self, instance_id: str) -> tuple[ContactFlow, ...]:
        """The instance's contact flows (ListContactFlows), in the API's order."""
        action = f"listing the contact flows of CCC instance {instance_id}"
        request = _sdk().models.ListContactFlowsRequest(instance_id=instance_id)
        body = self._invoke(
            "ListContactFlows", action, lambda api, rt: api.list_contact_flows_with_options(request, rt),
            resend=True,
        )
        items = body.contact_flows.contact_flow if body.contact_flows is not None else None
        return tuple(
            ContactFlow(str(flow.contact_flow_id), str(flow.contact_flow_name or ""), str(flow.type or ""))
            for flow in items or ()
            if flow is not None and flow.contact_flow_id
        )

    def list_skill_groups(self, instance_id: str) -> tuple[SkillGroup, ...]:
        """The instance's skill groups (ListSkillGroups), in the API's order."""
        action = f"listing the skill groups of CCC instance {instance_id}"
        request = _sdk().models.ListSkillGroupsRequest(instance_id=instance_id)
        body = self._invoke(
            "ListSkillGroups", action, lambda api, rt: api.list_skill_groups_with_options(request, rt),
            resend=True,
        )
        items = body.skill_groups.skill_group if body.skill_groups is not None else None
        return tuple(
            SkillGroup(str(group.skill_group_id), str(group.skill_group_name or ""))
            for group in items or ()
            if group is not None and group.skill_group_id
        )

    # -- for subclasses: any other action, the way the generated client sends it -------------------

    def _call(self, api_action: str, params: dict[str, Any], action: str, *, resend: bool) -> dict[str, Any]:
        """One call of any 2017-07-05 action with ``params`` (PascalCase, lists flattened by the SDK).

        The same wire as the typed calls (``do_rpcrequest``, v1 signature, form body); the answer's
        JSON object is returned as is. For tools built on this client (the benchmark's
        one-call-per-number peer); the provider uses the typed calls above.
        """

        def send(api: Any, runtime: Any) -> Any:
            request = _sdk().OpenApiRequest(body=params)
            return api.do_rpcrequest(api_action, API_VERSION, "HTTPS", "POST", "AK", "json", request, runtime)

        answer = self._invoke(api_action, action, send, resend=resend, raw=True)
        result: dict[str, Any] = answer
        return result

    # -- plumbing ------------------------------------------------------------------------------

    def _connect(self) -> tuple[Any, Endpoint, TokenBucket]:
        endpoint = self.endpoint
        with self._lock:
            if self._api is None or self._limiter is None:
                sdk = _sdk()
                settings = self._settings
                creds = self._runtime.credentials
                config = sdk.Config(
                    endpoint=endpoint.host,
                    # The generated client hard-codes HTTPS; this is the one override (ccc-api.md §10).
                    protocol=endpoint.protocol,
                    region_id=settings.region,
                    connect_timeout=settings.connect_timeout_ms,
                    read_timeout=settings.read_timeout_ms,
                    max_idle_conns=max(10, settings.max_concurrency * 2),
                    user_agent=_USER_AGENT,
                    # None: the SDK makes exactly one attempt; ccc_numbers.retry decides the rest.
                    retry_options=None,
                )
                if creds is not None:
                    config.access_key_id = creds.access_key_id
                    config.access_key_secret = creds.access_key_secret
                    config.security_token = creds.security_token
                else:
                    config.credential = _default_credentials(sdk, endpoint)
                self._api = sdk.Client(config)
                self._limiter = limiter_for(endpoint.url, settings.requests_per_second)
            return self._api, endpoint, self._limiter

    def _invoke(
        self,
        api_action: str,
        action: str,
        call: Callable[[Any, Any], Any],
        *,
        resend: bool,
        raw: bool = False,
    ) -> Any:
        """``call(api, runtime_options)`` with retries; the answer's body (a model, or a dict if ``raw``)."""
        api, endpoint, limiter = self._connect()
        add_bulk = api_action == "AddBulkPhoneNumbers"

        def attempt() -> Any:
            body = self._send(api, endpoint, api_action, action, call, add_bulk=add_bulk, raw=raw)
            request_id = body.get("RequestId") if raw else body.request_id
            _log.debug("%s: %s ok (request id %s)", action, api_action, request_id)
            return body

        return call_with_retries(
            attempt, policy=self._settings.retry, limiter=limiter, resend=resend,
            label=f"{action} ({api_action})",
        )

    def _send(
        self,
        api: Any,
        endpoint: Endpoint,
        api_action: str,
        action: str,
        call: Callable[[Any, Any], Any],
        *,
        add_bulk: bool,
        raw: bool,
    ) -> Any:
        sdk = _sdk()
        try:
            with _no_proxy(endpoint.is_loopback):
                response = call(api, sdk.RuntimeOptions())
        except sdk.TeaException as exc:
            raise self._translate(exc, endpoint, action, add_bulk=add_bulk) from None
        except sdk.CredentialException:
            raise missing_credentials_error(endpoint) from None
        except (AttributeError, TypeError, KeyError, ValueError) as exc:
            # The generated models parse the answer after it arrived: it was answered, in a shape
            # the SDK cannot read. The request may well have been applied.
            raise TransportError(
                action,
                f"the answer from {endpoint.url} is not shaped like a CCC {api_action} answer "
                f"({type(exc).__name__}: {scrub(str(exc), self._secrets)})",
                outcome_unknown=True,
            ) from None
        if raw:
            body = response.get("body") if isinstance(response, Mapping) else None
            if not isinstance(body, dict):
                raise TransportError(
                    action, f"the answer from {endpoint.url} was not a JSON object", outcome_unknown=True
                )
            success, code, message = body.get("Success"), body.get("Code"), body.get("Message")
            status, request_id = body.get("HttpStatusCode"), body.get("RequestId")
        else:
            body = getattr(response, "body", None)
            if body is None:
                raise TransportError(
                    action, f"the answer from {endpoint.url} was not a JSON object", outcome_unknown=True
                )
            success, code, message = body.success, body.code, body.message
            status, request_id = body.http_status_code, body.request_id
        if success is False:
            raise _api_error(
                action,
                code=str(code or "Unknown"),
                message=scrub(str(message or ""), self._secrets),
                http_status=_int_or(status, 200),
                request_id=_opt_str(request_id),
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
        self, action: str, item: Any, instance_id: str, *, phone_number_id: str | None = None
    ) -> BoundNumber:
        """A BoundNumber from the SDK's PhoneNumber model (AddBulk, List and Modify share its fields)."""
        if item is None:
            raise CccError(action, "the API reported an empty phone number entry")
        try:
            usage = Usage(str(item.usage))
        except ValueError:
            raise CccError(action, f"the API reported an unknown usage {item.usage!r}") from None
        number = item.number
        pid = item.phone_number_id or phone_number_id
        if not isinstance(number, str) or not isinstance(pid, str):
            raise CccError(action, "the API reported a phone number without Number or PhoneNumberId")
        flow = item.contact_flow
        groups_wrapper = item.skill_groups
        groups = sorted(
            (str(g.skill_group_id), str(g.skill_group_name or ""))
            for g in (groups_wrapper.skill_group if groups_wrapper is not None else None) or ()
            if g is not None and g.skill_group_id
        )
        unique = dict(groups)
        return BoundNumber(
            number=number,
            phone_number_id=pid,
            instance_id=str(item.instance_id or instance_id),
            settings=Settings(
                usage=usage,
                contact_flow_id=_opt_str(flow.contact_flow_id) if flow is not None else None,
                skill_group_ids=tuple(unique),
            ),
            trunks=_int_or(item.trunks, 0),
            allow_outbound=bool(item.allow_outbound),
            test_only=bool(item.test_only),
            remaining_time=_int_or(item.remaining_time, 0),
            description=str(item.phone_number_description or ""),
            contact_flow_name=_opt_str(flow.contact_flow_name) if flow is not None else None,
            skill_group_names=tuple(unique.values()),
        )


def _strings(wrapper: Any, name: str) -> tuple[str, ...]:
    """The strings of a ``{"UserdPhoneNumber": [...]}`` model; any level may be missing (ccc-api.md §1)."""
    items = getattr(wrapper, name, None) if wrapper is not None else None
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


# ------------------------------------------------------------------------------------------------
# An unsigned first contact


def probe(
    endpoint: Endpoint, *, timeout_seconds: float = 10.0, clock: Callable[[], float] = time.time
) -> Probe:
    """Send one unsigned ``GET /`` to the endpoint: does it answer, as CCC, and what time does it say?

    Read-only and harmless: a CCC gateway refuses an unsigned request (``MissingSignature`` or the
    like) without looking at anything else, and its answer carries the service's ``Date`` header,
    which tells the clock skew even when the local clock is too far off for a signed call.
    ``clock`` is the local wall clock the answer is compared with. Raises :class:`TransportError`
    when there is no HTTP answer at all.
    """
    # Imported here: only `ccc-numbers doctor` probes, and configure() imports this module.
    import email.utils  # noqa: PLC0415
    import json  # noqa: PLC0415
    import urllib.error  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    handlers: list[urllib.request.BaseHandler] = []
    if endpoint.is_loopback:
        handlers.append(urllib.request.ProxyHandler({}))  # never through a proxy (ccc-api.md §10)
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(f"{endpoint.url}/", headers={"User-Agent": _USER_AGENT}, method="GET")
    started_wall, started = clock(), time.monotonic()
    action = f"probing {endpoint.url}"
    try:
        with opener.open(request, timeout=timeout_seconds) as answer:
            status, headers, raw = answer.status, answer.headers, answer.read(65536)
    except urllib.error.HTTPError as refused:
        status, headers, raw = refused.code, refused.headers, refused.read(65536)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransportError(
            action, f"no answer from {endpoint.url}: {reason}", outcome_unknown=False
        ) from None
    elapsed = time.monotonic() - started
    code: str | None = None
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, Mapping) and isinstance(document.get("Code"), str):
        code = document["Code"]
    server_time: float | None = None
    date = headers.get("Date") if headers is not None else None
    if date:
        try:
            server_time = email.utils.parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            server_time = None
    return Probe(endpoint, status, code, server_time, started_wall + elapsed / 2, elapsed)
