"""The API request pipeline: one CCC request from its first byte to its answer (or a dropped socket).

Owns the order in which a request is processed (admit: read and parse, journal a malformed one, ask
for latency; then apply: authentication, version, action and path, faults before applying, the
service handler in one transaction, faults after applying, the journal entry), the one place
where errors become the gateway's JSON error body (:func:`error_response`), and the strict form
parsing the clients' requests get. Must not contain business rules (``service.py``), signature
checks (``auth.py``), SQL (``state.py``) or admin endpoints (``admin.py``), and must not start
servers (``emulator.py``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from . import service
from .auth import authenticate
from .core import EmulatorCore
from .errors import ServiceError
from .faults import BAD_GATEWAY_BODY, Fired

__all__ = ["CLIENT_MAX_SIZE", "DEFAULT_HOST_ID", "MAX_BODY_BYTES", "RequestPipeline", "error_response"]

#: Larger bodies are refused with 413 (a 100-number batch is ~3 KB).
MAX_BODY_BYTES = 1024 * 1024
#: A body beyond the limit is drained up to this size so the client can read our answer; past it
#: the connection is closed. The app's own ``client_max_size`` is lifted to it: the limit is ours to
#: enforce, with a JSON answer.
CLIENT_MAX_SIZE = 64 * 1024 * 1024
DEFAULT_HOST_ID = "ccc.cn-shanghai.aliyuncs.com"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _api_not_found() -> ServiceError:
    return ServiceError(
        "InvalidAction.NotFound", "Specified api is not found, please check your url and method.", 404
    )


def _parse_form(text: str, where: str) -> list[tuple[str, str]]:
    """Decode ``application/x-www-form-urlencoded`` text strictly (the clients never send less)."""
    if _BAD_PERCENT.search(text):
        raise ServiceError(
            "InvalidParameter", f"The {where} is not valid form encoding: bad percent escape.", 400
        )
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ServiceError("InvalidParameter", f"The {where} is not valid UTF-8.", 400) from None
    except ValueError as exc:
        raise ServiceError(
            "InvalidParameter", f"The {where} is not valid form encoding: {exc}.", 400
        ) from None


def _is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class _Parsed:
    params: dict[str, str]
    action: str
    version: str


class _BodyTooLargeError(Exception):
    pass


@dataclass(frozen=True)
class _Admitted:
    """A request that was read and parsed and may go on: its injected latency is still to sleep."""

    parsed: _Parsed
    body: bytes
    latency_ms: float


def error_response(
    request: web.Request, request_id: str, err: ServiceError, *, retry_after_ms: int | None = None
) -> web.Response:
    """The gateway's JSON error body; the only place an error is serialised."""
    host = request.headers.get("Host") or DEFAULT_HOST_ID
    body = {
        "RequestId": request_id,
        "HostId": host,
        "Code": err.code,
        "Message": err.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={err.code}&product=CCC",
    }
    headers = {"x-acs-request-id": request_id}
    if retry_after_ms is not None:
        headers["x-acs-retry-after"] = str(retry_after_ms)
    return web.Response(
        status=err.http_status,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


class RequestPipeline:
    """Answers the API requests of one emulator; :meth:`handle` is the aiohttp handler for ``/``."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One API request, start to finish; every exit but a drop after a reset is journaled once.

        The only awaits are reading the body and the injected latency. Everything else runs in two
        synchronous stretches under the reset fence (:meth:`_admit`: parse, journal a malformed
        request, use latency faults; :meth:`_apply`: authenticate, validate, faults, the
        transaction, the journal entry), each starting with the generation check. A request that
        started before a reset and reaches a stretch after it is dropped with nothing applied or
        journaled; one that holds the fence when reset() is called finishes first.
        """
        core = self.core
        request_id = str(uuid.uuid4()).upper()
        generation = core.generation
        body: bytes | None
        try:
            body = await self._read_body(request)
        except _BodyTooLargeError:
            body = None
        with core.fence:
            admitted = None if core.generation != generation else self._admit(request, request_id, body)
        if admitted is None:
            return await self._drop(request)  # reset meanwhile: not applied, not journaled
        if isinstance(admitted, web.Response):
            return admitted
        if admitted.latency_ms > 0:
            # Asynchronous and outside the fence on purpose: concurrent calls overlap instead of
            # queueing.
            await asyncio.sleep(admitted.latency_ms / 1000)
        with core.fence:
            stale = core.generation != generation
            response = None if stale else self._apply(request, request_id, admitted)
        if response is None:
            # After a reset: not applied, not journaled. After drop_after_apply: applied and
            # journaled. Either way the client gets no answer.
            return await self._drop(request)
        return response

    def _admit(self, request: web.Request, request_id: str, body: bytes | None) -> web.Response | _Admitted:
        """Parse (``body`` None: over the size limit); a refusal is journaled and returned. Fence held."""
        params: dict[str, str] = {}
        action = request.headers.get("x-acs-action", "")
        try:
            if body is None:
                # Journal what the query says, so the refused call is counted under its action.
                params, action = self._query_only(request, action)
                raise ServiceError(
                    "RequestEntityTooLarge",
                    f"The request body is larger than the limit of {MAX_BODY_BYTES} bytes.",
                    413,
                )
            parsed = self._parse(request, body)
        except ServiceError as err:
            self.core.request_journal.record(
                action, params, http_status=err.http_status, code=err.code, ok=False
            )
            return error_response(request, request_id, err)
        latency = self.core.latency_ms + self.core.fault_registry.latency_ms(parsed.action)
        return _Admitted(parsed=parsed, body=body, latency_ms=latency)

    def _apply(self, request: web.Request, request_id: str, admitted: _Admitted) -> web.Response | None:
        """Authenticate, validate, fault, apply and journal; None: drop the connection. Fence held."""
        core = self.core
        faults, journal = core.fault_registry, core.request_journal
        parsed = admitted.parsed
        params, action = parsed.params, parsed.action
        try:
            authenticate(
                method=request.method,
                raw_path=request.rel_url.raw_path,
                raw_query=request.rel_url.raw_query_string,
                headers=request.headers,
                body=admitted.body,
                lookup_key=core.lookup_key,
                nonces=core.nonces,
                now=time.time(),
            )
            self._check_route(request, parsed)

            fired = faults.before_apply(action)
            if fired is not None:
                return self._fault_response(request, request_id, action, params, fired)

            with core.store.transaction() as tx:
                result = service.ACTIONS[action](
                    service.Call(
                        tx=tx,
                        params=service.business_params(params),
                        request_id=request_id,
                        max_batch_size=core.max_batch_size,
                        rejections=lambda numbers: faults.rejections(action, numbers),
                        batch_cap_code=core.batch_cap_code,
                        batch_cap_message=core.batch_cap_message,
                    )
                )
        except ServiceError as err:
            journal.record(action, params, http_status=err.http_status, code=err.code, ok=False)
            return error_response(request, request_id, err)

        fired = faults.after_apply(action)
        if fired is not None:
            if fired.drop:
                journal.record(action, params, http_status=0, code="OK", ok=True, fault=fired.kind)
                return None
            return self._fault_response(request, request_id, action, params, fired, applied=True)

        journal.record(action, params, http_status=200, code="OK", ok=True)
        return web.Response(
            body=json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
            content_type="application/json",
            charset="utf-8",
            headers={"x-acs-request-id": request_id},
        )

    async def _read_body(self, request: web.Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
            elif size > CLIENT_MAX_SIZE:
                break
        if size > MAX_BODY_BYTES:
            raise _BodyTooLargeError
        return b"".join(chunks)

    @staticmethod
    def _parse(request: web.Request, body: bytes) -> _Parsed:
        # The raw query, never aiohttp's decoded one: decoding twice corrupts values with '%'.
        params = dict(_parse_form(request.rel_url.raw_query_string, "query string"))
        if body and _is_form(request.headers.get("content-type", "")):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ServiceError("InvalidParameter", "The request body is not valid UTF-8.", 400) from None
            params.update(_parse_form(text, "request body"))  # the body wins on a clash
        action = params.get("Action") or request.headers.get("x-acs-action") or ""
        version = params.get("Version") or request.headers.get("x-acs-version") or ""
        return _Parsed(params=params, action=action, version=version)

    @staticmethod
    def _query_only(request: web.Request, action: str) -> tuple[dict[str, str], str]:
        try:
            params = dict(_parse_form(request.rel_url.raw_query_string, "query string"))
        except ServiceError:
            return {}, action
        return params, params.get("Action") or action

    @staticmethod
    def _check_route(request: web.Request, parsed: _Parsed) -> None:
        if not parsed.version:
            raise ServiceError("MissingVersion", "Version is mandatory for this action.", 400)
        if parsed.version != service.API_VERSION:
            raise ServiceError("InvalidVersion", "Specified parameter Version is not valid.", 400)
        if not parsed.action:
            raise ServiceError("MissingAction", "Action is mandatory for this action.", 400)
        if parsed.action not in service.ACTIONS:
            raise _api_not_found()
        if request.rel_url.raw_path != "/" or request.method not in ("GET", "POST"):
            raise _api_not_found()

    def _fault_response(
        self,
        request: web.Request,
        request_id: str,
        action: str,
        params: Mapping[str, str],
        fired: Fired,
        *,
        applied: bool = False,
    ) -> web.Response:
        journal = self.core.request_journal
        if fired.bad_gateway:
            journal.record(action, params, http_status=502, code="BadGateway", ok=applied, fault=fired.kind)
            return web.Response(status=502, text=BAD_GATEWAY_BODY, content_type="text/html")
        assert fired.error is not None  # every other fired fault carries its error
        err = fired.error
        journal.record(
            action, params, http_status=err.http_status, code=err.code, ok=applied, fault=fired.kind
        )
        return error_response(request, request_id, fired.error, retry_after_ms=fired.retry_after_ms)

    @staticmethod
    async def _drop(request: web.Request) -> web.StreamResponse:
        # Close the socket without a byte of response: the client sees a reset / remote close and
        # cannot tell whether the request was applied (after drop_after_apply it was; after a
        # reset fence it was not).
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError
