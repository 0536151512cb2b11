"""The provider's errors: one tree, so callers decide by type and users read one message grammar.

::

    ConfigurationError           a bad ``ccc:`` config key or no credentials; .key names the key
    CccError                     .action (what was being done, to what), .reason, .request_id,
    │                            .outcome_unknown (the request may have been applied),
    │                            .attempts, .retry_note (why the client stopped retrying),
    │                            .hint (what the user can change, e.g. which credential settings)
    ├── ApiError                 .code, .message, .http_status: the CCC API said no
    │   ├── NotFoundError        NotExist.* / NotExists.* / *.NotFound / HTTP 404
    │   │                        read: drift; delete: already done
    │   ├── InvalidInputError    other 4xx: parameters, signature, permissions; never retried
    │   │   ├── BatchTooLargeError   Parameter.Maximum on AddBulkPhoneNumbers; .maximum: split and retry
    │   │   └── InvalidParameterError  a 4xx about the request's parameters (not who signed it, nor
    │   │       │                    its permissions or routing): a refused batch is split once
    │   │       └── SplitRefusedError  refused again after the split: .first (the first refusal)
    │   └── ThrottledError       Throttling* or a 5xx; retried with backoff until the budget is spent;
    │                            .retry_after_ms: the wait the API asked for
    ├── TransportError           no usable answer (refused, reset, timeout, non-JSON body);
    │                            outcome_unknown unless the connection was never made
    ├── PartialFailureError      some numbers were bound and others rejected: .bound, .rejected
    │                            {number: reason}; raised by the executor, never by the client
    ├── OwnershipError           declared numbers already bound in the instance but not owned:
    │                            .conflicts {number: PhoneNumberId}; raised before any write
    ├── UnknownInstanceError     create/update: the instance does not exist for this key and
    │                            endpoint; .instance_id; raised before any write
    ├── MissingReferenceError    create/update: contact flows or skill groups the writes refer to
    │                            are not in the instance: .missing_flows / .missing_groups
    │                            {id: numbers}; raised before any write
    └── ApplyError               a create/update/delete failed: .errors (what stopped it),
                                 .rejected {number: reason}, .rolled_back, .left_bound

Messages say what was being done, to what, and why::

    adding 120 phone numbers to CCC instance d278629c-…, batch 2/3: Throttling.User: Request was
    denied due to user flow control. (HTTP 400, request id 6F0C…; gave up after 6 attempts)

The client sets ``action`` (``adding 120 phone numbers to CCC instance …``); the executor may
:meth:`CccError.annotate` it with context only it knows (``batch 2/3``).

Owns the error values and their wording. Must not import the Alibaba SDK, do I/O, or carry a
credential: every text that reaches an error has been through :func:`scrub` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

__all__ = [
    "ApiError",
    "ApplyError",
    "BatchTooLargeError",
    "CccError",
    "ConfigurationError",
    "InvalidInputError",
    "InvalidParameterError",
    "MissingReferenceError",
    "NotFoundError",
    "OwnershipError",
    "PartialFailureError",
    "SplitRefusedError",
    "ThrottledError",
    "TransportError",
    "UnknownInstanceError",
    "plural",
    "scrub",
]

# Query parameters that carry request credentials or signatures in a v1-signed URL; the SDK puts the
# whole URL into its connection-error messages.
_SIGNED_PARAM = re.compile(
    r"(?P<name>AccessKeyId|Signature|SecurityToken|SignatureNonce|BearerToken)=[^&\s'\"()]*"
)
# ACS3 Authorization header value, in case an SDK message ever quotes request headers.
_AUTH_HEADER = re.compile(r"(ACS3-[A-Z0-9-]+ Credential=)[^\s,]+(,SignedHeaders=[^,]*,Signature=)[^\s,'\"]+")
_REDACTED = "***"


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 phone number``, ``2 phone numbers``: the count wording every message and log uses.

    ``many`` is the plural when it is not ``word`` + ``s`` (``batch``, ``batches``).
    """
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove signed-URL credentials and any of the given secret strings from ``text``.

    Every SDK message passes through here before it becomes part of one of our errors or a log line.
    """
    # The header first: its Signature= would otherwise be taken for a query parameter.
    out = _AUTH_HEADER.sub(rf"\g<1>{_REDACTED}\g<2>{_REDACTED}", text)
    out = _SIGNED_PARAM.sub(lambda m: f"{m.group('name')}={_REDACTED}", out)
    for secret in secrets:
        # Short values would redact innocent text and are not secrets worth the name.
        if secret and len(secret) >= 4:
            out = out.replace(secret, _REDACTED)
    return out


class ConfigurationError(Exception):
    """The configuration is unusable: a bad ``ccc:`` value, or no credentials for a real endpoint."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        #: The stack config key at fault (``ccc:batchSize``), when there is one.
        self.key = key


class CccError(Exception):
    """A CCC API operation failed."""

    def __init__(
        self,
        action: str,
        reason: str,
        *,
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(action, reason)
        #: What was being done, to what: ``removing phone number 0216… (id …) from CCC instance …``.
        self.action = action
        #: Why it failed, in one sentence (for API errors: ``Code: Message``).
        self.reason = reason
        #: The API's RequestId of the last attempt, for Alibaba support; None without an answer.
        self.request_id = request_id
        #: True when the request may have been applied even though no success answer arrived:
        #: re-read the live state before repeating a non-idempotent call.
        self.outcome_unknown = outcome_unknown
        #: How many requests were made (the client's retries included).
        self.attempts = 1
        #: Why the client stopped retrying, when it retried at all: ``gave up after 6 attempts``.
        self.retry_note: str | None = None
        #: What the user can do about it, when we know: ``check ccc:accessKeySecret …``.
        self.hint: str | None = None

    def annotate(self, detail: str) -> None:
        """Add caller context to the action (``batch 2/3``), keeping the reason as it is."""
        self.action = f"{self.action}, {detail}"

    def _suffix(self) -> str:
        return self.retry_note or ""

    @property
    def detail(self) -> str:
        """The bracketed part of the message: HTTP status, request id, retries; empty when none."""
        return self._suffix()

    def __str__(self) -> str:
        text = f"{self.action}: {self.reason}"
        suffix = self._suffix()
        if suffix:
            text = f"{text} ({suffix})"
        if self.hint:
            text = f"{text}. {self.hint}"
        return text


class ApiError(CccError):
    """The CCC API answered with an error: a 4xx/5xx error body, or HTTP 200 with ``Success: false``."""

    def __init__(
        self,
        action: str,
        *,
        code: str,
        message: str,
        http_status: int,
        request_id: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(
            action, f"{code}: {message}" if message else code,
            request_id=request_id, outcome_unknown=outcome_unknown,
        )
        #: The API's error code, e.g. ``NotExist.PhoneNumber``.
        self.code = code
        #: The API's error message, as sent (scrubbed).
        self.message = message
        #: The HTTP status of the answer (200 for ``Success: false``).
        self.http_status = http_status

    def _suffix(self) -> str:
        parts = [f"HTTP {self.http_status}"]
        if self.request_id:
            parts.append(f"request id {self.request_id}")
        if self.outcome_unknown:
            parts[-1] += "; the request may have been applied"
        if self.retry_note:
            parts[-1] += f"; {self.retry_note}"
        return ", ".join(parts)


class NotFoundError(ApiError):
    """The instance, number, flow or skill group does not exist: drift on read, done on delete."""


class InvalidInputError(ApiError):
    """The API refused the request as invalid or unauthorised; repeating it cannot help."""


class InvalidParameterError(InvalidInputError):
    """The API refused the request's parameters (not its credentials, permissions or routing).

    The service's cap on a batch is undocumented, and so is the code it refuses a larger batch
    with: a batch of several numbers refused so is split and sent again before the refusal counts.
    """


class SplitRefusedError(InvalidParameterError):
    """A batch refused with a parameter error was split and sent again, and refused again.

    The message gives both answers: the first refusal (of ``first_size`` numbers) and the last
    (of ``retry_size``), so a user can tell a size limit from a bad parameter.
    """

    def __init__(
        self,
        action: str,
        *,
        first: ApiError,
        first_size: int,
        retry: ApiError,
        retry_size: int,
    ) -> None:
        super().__init__(
            action, code=retry.code, message=retry.message, http_status=retry.http_status,
            request_id=retry.request_id,
        )
        #: The refusal of the whole batch.
        self.first = first
        self.first_size = first_size
        self.retry_size = retry_size
        first_said = f"{first.code}: {first.message}" if first.message else first.code
        if first.request_id:
            first_said += f"; request id {first.request_id}"
        retried = "it alone" if retry_size == 1 else f"{plural(retry_size, 'phone number')} of them"
        self.reason = (
            f"the service refused {plural(first_size, 'phone number')} in one call ({first_said}), "
            f"and refused {retried} when sent again: {self.reason}"
        )


class BatchTooLargeError(InvalidInputError):
    """AddBulkPhoneNumbers refused the batch as too large; nothing was bound. Split and retry."""

    def __init__(
        self,
        action: str,
        *,
        code: str,
        message: str,
        http_status: int,
        maximum: int | None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(action, code=code, message=message, http_status=http_status, request_id=request_id)
        #: The largest batch the API accepts, when its message names it.
        self.maximum = maximum


class ThrottledError(ApiError):
    """Throttled (``Throttling*``) or a transient 5xx, still failing when the retry budget ran out."""

    def __init__(
        self,
        action: str,
        *,
        code: str,
        message: str,
        http_status: int,
        request_id: str | None = None,
        outcome_unknown: bool = False,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(
            action, code=code, message=message, http_status=http_status,
            request_id=request_id, outcome_unknown=outcome_unknown,
        )
        #: The wait the API asked for (``x-acs-retry-after``), if it named one.
        self.retry_after_ms = retry_after_ms


class TransportError(CccError):
    """No usable answer: the connection failed, was reset or timed out, or the body was not CCC JSON."""

    def __init__(
        self,
        action: str,
        reason: str,
        *,
        outcome_unknown: bool,
    ) -> None:
        super().__init__(action, reason, outcome_unknown=outcome_unknown)

    def _suffix(self) -> str:
        parts = []
        if self.outcome_unknown:
            parts.append("the request may have been applied")
        if self.retry_note:
            parts.append(self.retry_note)
        return "; ".join(parts)


class PartialFailureError(CccError):
    """Some numbers were bound and others were not; the message lists every rejected number and why."""

    def __init__(
        self,
        action: str,
        *,
        bound: Iterable[str],
        rejected: Mapping[str, str],
        request_id: str | None = None,
    ) -> None:
        self.bound: tuple[str, ...] = tuple(bound)
        self.rejected: dict[str, str] = dict(sorted(rejected.items()))
        listing = "; ".join(f"{number}: {why}" for number, why in self.rejected.items())
        super().__init__(
            action,
            f"{len(self.rejected)} of {len(self.bound) + len(self.rejected)} phone numbers were "
            f"not bound ({listing})",
            request_id=request_id,
        )


class OwnershipError(CccError):
    """Numbers the binding declares are already bound in the instance, and it does not own them."""

    def __init__(
        self,
        action: str,
        conflicts: Mapping[str, str],
        *,
        declared_settings: Iterable[str] = (),
        released: Iterable[str] = (),
    ) -> None:
        #: ``{number: PhoneNumberId}`` of every such number.
        self.conflicts = dict(sorted(conflicts.items()))
        #: Those bound with exactly the settings this binding declares (an interrupted run's, likely).
        self.declared_settings: frozenset[str] = frozenset(declared_settings)
        #: Those another binding of the same stack owned and gives up in this same run (a move).
        self.released: frozenset[str] = frozenset(released)
        listed = ", ".join(f"{number} (PhoneNumberId {pid})" for number, pid in self.conflicts.items())
        them = "it" if len(self.conflicts) == 1 else "them"
        super().__init__(
            action,
            f"{plural(len(self.conflicts), 'phone number')} already bound in this instance but not owned "
            f"by this binding: {listed}; set adopt_existing=True to take {them} over (for example after "
            f"an interrupted run), or bind {them} elsewhere first",
        )


def _some(numbers: Sequence[str], shown: int = 5) -> str:
    """``a, b, c`` or ``a, b, c, d, e and 95 more``: a few numbers of a long list, for one line."""
    if len(numbers) <= shown:
        return ", ".join(numbers)
    return f"{', '.join(numbers[:shown])} and {len(numbers) - shown} more"


class UnknownInstanceError(CccError):
    """The instance a binding names does not exist for this AccessKey at this endpoint."""

    def __init__(self, action: str, *, instance_id: str, where: str, cause: ApiError) -> None:
        #: The instance id as the binding gave it.
        self.instance_id = instance_id
        #: The API's refusal (``NotExist.Instance`` …).
        self.cause = cause
        said = f"{cause.code}: {cause.message}" if cause.message else cause.code
        super().__init__(
            action,
            f"CCC instance {instance_id} does not exist {where} ({said}); check instance_id, and "
            "ccc:region or ccc:endpoint: an instance is found only through its own region's endpoint. "
            "Nothing was changed",
            request_id=cause.request_id,
        )


class MissingReferenceError(CccError):
    """Contact flows or skill groups that the numbers being written refer to are not in the instance."""

    def __init__(
        self,
        action: str,
        *,
        missing_flows: Mapping[str, Sequence[str]],
        missing_groups: Mapping[str, Sequence[str]],
        flows: Mapping[str, str],
        groups: Mapping[str, str],
    ) -> None:
        #: ``{contact flow id: numbers that use it}`` for each flow the instance does not have.
        self.missing_flows = {k: tuple(v) for k, v in sorted(missing_flows.items())}
        #: ``{skill group id: numbers that use it}`` for each group the instance does not have.
        self.missing_groups = {k: tuple(v) for k, v in sorted(missing_groups.items())}
        parts = [
            _missing(kind, refs, present)
            for kind, refs, present in (
                ("contact flow", self.missing_flows, flows),
                ("skill group", self.missing_groups, groups),
            )
            if refs
        ]
        super().__init__(action, "; ".join(parts) + ". Nothing was changed")


def _missing(kind: str, refs: Mapping[str, Sequence[str]], present: Mapping[str, str]) -> str:
    """``contact flow x does not exist in this instance (used by …); it has 3 contact flows: …``."""
    used = [
        f"{ref} (used by {plural(len(numbers), 'phone number')}: {_some(sorted(numbers))})"
        for ref, numbers in refs.items()
    ]
    if len(used) == 1:
        head = f"{kind} {used[0]} does not exist in this instance"
    else:
        head = f"{kind}s {', '.join(used[:-1])} and {used[-1]} do not exist in this instance"
    if present:
        listed = ", ".join(f"{ident} ({name})" if name else ident for ident, name in sorted(present.items()))
        return f"{head}; it has {plural(len(present), kind)}: {listed}"
    return f"{head}; it has no {kind}s"


class ApplyError(CccError):
    """An operation failed: every failure that stopped it, and what its rollback did."""

    def __init__(
        self,
        action: str,
        *,
        errors: Sequence[Exception],
        operation: str,
        rolled_back: Iterable[str] = (),
        left_bound: Mapping[str, str] | None = None,
    ) -> None:
        #: The failures, in the order they happened (API errors, then one PartialFailureError).
        self.errors: tuple[Exception, ...] = tuple(errors)
        #: Every rejected number with its reason, from the PartialFailureErrors among `errors`.
        self.rejected: dict[str, str] = {}
        for err in self.errors:
            if isinstance(err, PartialFailureError):
                self.rejected.update(err.rejected)
        #: Numbers this operation bound and then unbound again because it failed.
        self.rolled_back: tuple[str, ...] = tuple(sorted(rolled_back))
        #: Numbers this operation bound (or may have) and could not unbind: ``{number: why}``.
        self.left_bound: dict[str, str] = dict(sorted((left_bound or {}).items()))
        texts = [str(err) for err in self.errors]
        reason = texts[0] if len(texts) == 1 else " ".join(f"({i}) {t}" for i, t in enumerate(texts, 1))
        if self.rolled_back:
            reason += (
                f"; unbound again the {plural(len(self.rolled_back), 'phone number')} this {operation} "
                f"had bound"
            )
        if self.left_bound:
            listed = "; ".join(f"{number}: {why}" for number, why in self.left_bound.items())
            reason += (
                f"; could not unbind {plural(len(self.left_bound), 'phone number')} this {operation} "
                f"bound, which stay bound and are not owned by this binding ({listed}); "
                "adopt_existing=True takes them over on the next run, or unbind them by hand"
            )
        super().__init__(action, reason, request_id=getattr(self.errors[0], "request_id", None))
