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
    │   │   └── BatchTooLargeError   Parameter.Maximum on AddBulkPhoneNumbers; .maximum: split and retry
    │   └── ThrottledError       Throttling* or a 5xx; retried with backoff until the budget is spent;
    │                            .retry_after_ms: the wait the API asked for
    ├── TransportError           no usable answer (refused, reset, timeout, non-JSON body);
    │                            outcome_unknown unless the connection was never made
    ├── PartialFailureError      some numbers were bound and others rejected: .bound, .rejected
    │                            {number: reason}; raised by the executor, never by the client
    ├── OwnershipError           declared numbers already bound in the instance but not owned:
    │                            .conflicts {number: PhoneNumberId}; raised before any write
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
    "NotFoundError",
    "OwnershipError",
    "PartialFailureError",
    "ThrottledError",
    "TransportError",
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
