"""The emulator's HTTP side: the aiohttp app, the request pipeline, admin endpoints, the threaded runner.

Owns the order in which a request is processed (read and parse, latency, authentication, version,
action, path, faults, the service handler in one transaction, after-apply faults), the one place
where errors become the gateway's JSON error body (:func:`_error_response`), the admin API under
``/_emulator/`` (the real API lives only at ``/``, so the two cannot collide), and
:class:`Emulator`, the in-process server of docs/contracts.md. Must not contain business rules
(``service.py``), signature checks (``auth.py``) or SQL (``state.py``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from . import demo, service
from .auth import AccessKey, NonceStore, authenticate
from .errors import ServiceError
from .faults import BAD_GATEWAY_BODY, Faults, Fired
from .journal import Journal, JournalEntry
from .seed import Seed, SeedError, load_seed, parse_seed
from .state import Store, binding_dict

__all__ = ["ADMIN_PREFIX", "MAX_BODY_BYTES", "Emulator", "EmulatorCore"]

#: Admin endpoints live here; the API is only ever served at "/".
ADMIN_PREFIX = "/_emulator"
#: Larger bodies are refused with 413 (a 100-number batch is ~3 KB).
MAX_BODY_BYTES = 1024 * 1024
#: A body beyond the limit is drained up to this size so the client can read our answer; past it
#: the connection is closed.
_DRAIN_LIMIT = 64 * 1024 * 1024
DEFAULT_HOST_ID = "ccc.cn-shanghai.aliyuncs.com"
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")

SeedSource = Mapping[str, Any] | str | os.PathLike[str] | Seed


def _check_max_batch_size(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_batch_size must be at least 1, got {value!r}")


def _check_batch_cap_code(value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"batch_cap_code must be a non-empty string, got {value!r}")


def _check_batch_cap_message(value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"batch_cap_message must be a string, got {value!r}")


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


class EmulatorCore:
    """State, faults, journal and knobs of one emulator, and the aiohttp app that serves them."""

    def __init__(
        self,
        *,
        seed: SeedSource | None = None,
        state_path: str | os.PathLike[str] | None = None,
        max_batch_size: int = 100,
        latency_ms: float = 0,
        rng_seed: int = 0,
        batch_cap_code: str = service.DEFAULT_BATCH_CAP_CODE,
        batch_cap_message: str = service.DEFAULT_BATCH_CAP_MESSAGE,
    ) -> None:
        _check_max_batch_size(max_batch_size)
        _check_batch_cap_code(batch_cap_code)
        _check_batch_cap_message(batch_cap_message)
        self.default_seed: Seed = load_seed(seed) if seed is not None else parse_seed(demo.demo_seed())
        self.store = Store(os.fspath(state_path) if state_path is not None else None)
        # An existing state file wins over the seed: that is what a restart means. Checked and
        # seeded in one transaction, so two processes opening a new file seed it once.
        with self.store.transaction() as tx:
            if not tx.is_seeded():
                tx.replace(self.default_seed)
        self.faults = Faults(rng_seed)
        self.journal = Journal()
        self.nonces = NonceStore()
        #: Bumped by every reset(); requests begun under an older generation are dropped unapplied.
        self.generation = 0
        # The reset fence: held by reset() and by each synchronous stretch of a request (never
        # across an await), so a request's fault use, state change and journal entry all happen
        # entirely before or entirely after a reset. A plain threading.Lock: reset() runs on the
        # caller's thread (or the server's, for the admin endpoint) and is over in milliseconds.
        self._fence = threading.Lock()
        self.max_batch_size = self._initial_max_batch_size = max_batch_size
        self.latency_ms = self._initial_latency_ms = latency_ms
        self.batch_cap_code = self._initial_batch_cap_code = batch_cap_code
        self.batch_cap_message = self._initial_batch_cap_message = batch_cap_message

    # -- state operations shared by the Python API and the admin endpoints -----------------------

    def reset(self, seed: SeedSource | None = None) -> None:
        new = load_seed(seed) if seed is not None else self.default_seed
        # Under the fence: no request is between its generation check and its journal entry while
        # this runs, and one that started before it (say, still sleeping in injected latency after
        # its client gave up) sees the new generation and is dropped, so it never applies to the
        # fresh state, uses a fresh fault or lands in the cleared journal.
        with self._fence:
            self.store.replace(new)
            self.generation += 1
            self.journal.clear()
            self.faults.clear()
            # Knobs changed at run time go back too, so one test's settings never leak into the next.
            self.max_batch_size = self._initial_max_batch_size
            self.latency_ms = self._initial_latency_ms
            self.batch_cap_code = self._initial_batch_cap_code
            self.batch_cap_message = self._initial_batch_cap_message

    def load_seed(self, seed: SeedSource) -> None:
        self.store.replace(load_seed(seed))

    def close(self) -> None:
        """Close the SQLite connection; the core is unusable afterwards."""
        self.store.close()

    def snapshot(self) -> dict[str, Any]:
        with self.store.transaction() as tx:
            return tx.snapshot()

    def bindings(self, instance_id: str | None = None) -> list[dict[str, Any]]:
        with self.store.transaction() as tx:
            return [binding_dict(b) for b in tx.bindings(instance_id)]

    def bind(
        self,
        number: str,
        instance_id: str,
        usage: str = "Bidirection",
        contact_flow_id: str | None = None,
        skill_group_ids: tuple[str, ...] | list[str] = (),
    ) -> str:
        """Bind out of band (no journal, no faults); ValueError if the account does not allow it."""
        if usage not in service.USAGES:
            raise ValueError(f"usage must be one of {', '.join(service.USAGES)}, got {usage!r}")
        with self.store.transaction() as tx:
            if not tx.instance_exists(instance_id):
                raise ValueError(f"unknown instance {instance_id!r}")
            if not tx.numbers([number]):
                raise ValueError(f"{number!r} is not a purchased number")
            existing = tx.bindings_by_number([number])
            if existing:
                raise ValueError(f"{number!r} is already bound to instance {existing[number].instance_id}")
            if contact_flow_id is not None and contact_flow_id not in {
                f.id for f in tx.contact_flows(instance_id)
            }:
                raise ValueError(f"unknown contact flow {contact_flow_id!r} in instance {instance_id}")
            groups = {g.id for g in tx.skill_groups(instance_id)}
            for sg in skill_group_ids:
                if sg not in groups:
                    raise ValueError(f"unknown skill group {sg!r} in instance {instance_id}")
            return tx.add_binding(
                number, instance_id, usage, contact_flow_id, skill_group_ids
            ).phone_number_id

    def unbind(self, number: str) -> None:
        """Unbind out of band; ValueError if the number is not bound."""
        with self.store.transaction() as tx:
            existing = tx.bindings_by_number([number])
            if not existing:
                raise ValueError(f"{number!r} is not bound")
            tx.remove_binding(existing[number].phone_number_id)

    def lookup_key(self, key_id: str) -> AccessKey | None:
        with self.store.transaction() as tx:
            k = tx.access_key(key_id)
        return None if k is None else AccessKey(id=k.id, secret=k.secret, security_token=k.security_token)

    # -- the API pipeline ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        # client_max_size is ours to enforce (with a JSON answer), so aiohttp's own limit is lifted.
        app = web.Application(client_max_size=_DRAIN_LIMIT)
        admin = _Admin(self)
        r = app.router
        r.add_get(f"{ADMIN_PREFIX}/health", admin.health)
        r.add_post(f"{ADMIN_PREFIX}/reset", admin.reset)
        r.add_post(f"{ADMIN_PREFIX}/seed", admin.seed)
        r.add_get(f"{ADMIN_PREFIX}/state", admin.state)
        r.add_get(f"{ADMIN_PREFIX}/bindings", admin.bindings)
        r.add_post(f"{ADMIN_PREFIX}/bind", admin.bind)
        r.add_post(f"{ADMIN_PREFIX}/unbind", admin.unbind)
        r.add_get(f"{ADMIN_PREFIX}/faults", admin.list_faults)
        r.add_post(f"{ADMIN_PREFIX}/faults", admin.add_fault)
        r.add_delete(f"{ADMIN_PREFIX}/faults", admin.clear_faults)
        r.add_delete(f"{ADMIN_PREFIX}/faults/{{fault_id}}", admin.remove_fault)
        r.add_get(f"{ADMIN_PREFIX}/journal", admin.journal)
        r.add_delete(f"{ADMIN_PREFIX}/journal", admin.clear_journal)
        r.add_route("*", ADMIN_PREFIX + "/{tail:.*}", admin.not_found)
        r.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """One API request, start to finish; every exit but a drop after a reset is journaled once.

        The only awaits are reading the body and the injected latency. Everything else runs in two
        synchronous stretches under the reset fence (:meth:`_admit`: parse, journal a malformed
        request, use latency faults; :meth:`_apply`: authenticate, validate, faults, the
        transaction, the journal entry), each starting with the generation check. A request that
        started before a reset and reaches a stretch after it is dropped with nothing applied or
        journaled; one that holds the fence when reset() is called finishes first.
        """
        request_id = str(uuid.uuid4()).upper()
        generation = self.generation
        body: bytes | None
        try:
            body = await self._read_body(request)
        except _BodyTooLargeError:
            body = None
        with self._fence:
            admitted = None if self.generation != generation else self._admit(request, request_id, body)
        if admitted is None:
            return await self._drop(request)  # reset meanwhile: not applied, not journaled
        if isinstance(admitted, web.Response):
            return admitted
        if admitted.latency_ms > 0:
            # Asynchronous and outside the fence on purpose: concurrent calls overlap instead of
            # queueing.
            await asyncio.sleep(admitted.latency_ms / 1000)
        with self._fence:
            stale = self.generation != generation
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
            self.journal.record(action, params, http_status=err.http_status, code=err.code, ok=False)
            return _error_response(request, request_id, err)
        latency = self.latency_ms + self.faults.latency_ms(parsed.action)
        return _Admitted(parsed=parsed, body=body, latency_ms=latency)

    def _apply(self, request: web.Request, request_id: str, admitted: _Admitted) -> web.Response | None:
        """Authenticate, validate, fault, apply and journal; None: drop the connection. Fence held."""
        parsed = admitted.parsed
        params, action = parsed.params, parsed.action
        try:
            authenticate(
                method=request.method,
                raw_path=request.rel_url.raw_path,
                raw_query=request.rel_url.raw_query_string,
                headers=request.headers,
                body=admitted.body,
                lookup_key=self.lookup_key,
                nonces=self.nonces,
                now=time.time(),
            )
            self._check_route(request, parsed)

            fired = self.faults.before_apply(action)
            if fired is not None:
                return self._fault_response(request, request_id, action, params, fired)

            with self.store.transaction() as tx:
                result = service.ACTIONS[action](
                    service.Call(
                        tx=tx,
                        params=service.business_params(params),
                        request_id=request_id,
                        max_batch_size=self.max_batch_size,
                        rejections=lambda numbers: self.faults.rejections(action, numbers),
                        batch_cap_code=self.batch_cap_code,
                        batch_cap_message=self.batch_cap_message,
                    )
                )
        except ServiceError as err:
            self.journal.record(action, params, http_status=err.http_status, code=err.code, ok=False)
            return _error_response(request, request_id, err)

        fired = self.faults.after_apply(action)
        if fired is not None:
            if fired.drop:
                self.journal.record(action, params, http_status=0, code="OK", ok=True, fault=fired.kind)
                return None
            return self._fault_response(request, request_id, action, params, fired, applied=True)

        self.journal.record(action, params, http_status=200, code="OK", ok=True)
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
            elif size > _DRAIN_LIMIT:
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
        if fired.bad_gateway:
            self.journal.record(
                action, params, http_status=502, code="BadGateway", ok=applied, fault=fired.kind
            )
            return web.Response(status=502, text=BAD_GATEWAY_BODY, content_type="text/html")
        assert fired.error is not None  # every other fired fault carries its error
        err = fired.error
        self.journal.record(
            action, params, http_status=err.http_status, code=err.code, ok=applied, fault=fired.kind
        )
        return _error_response(request, request_id, fired.error, retry_after_ms=fired.retry_after_ms)

    @staticmethod
    async def _drop(request: web.Request) -> web.StreamResponse:
        # Close the socket without a byte of response: the client sees a reset / remote close and
        # cannot tell whether the request was applied (after drop_after_apply it was; after a
        # reset fence it was not).
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise asyncio.CancelledError


def _error_response(
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


class _Admin:
    """The admin endpoints: JSON in, JSON out, errors as {"error": "..."} with 400/404."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    @staticmethod
    def _ok(payload: Any = None) -> web.Response:
        return web.json_response({"ok": True} if payload is None else payload)

    @staticmethod
    def _bad(message: str, status: int = 400) -> web.Response:
        return web.json_response({"error": message}, status=status)

    @staticmethod
    async def _json(request: web.Request, *, optional: bool = False) -> Any:
        raw = await request.read()
        if not raw.strip():
            if optional:
                return None
            raise ValueError("expected a JSON body")
        return json.loads(raw)

    async def health(self, _request: web.Request) -> web.Response:
        return self._ok()

    async def reset(self, request: web.Request) -> web.Response:
        try:
            seed = await self._json(request, optional=True)
            self.core.reset(seed)
        except (ValueError, SeedError) as exc:
            return self._bad(str(exc))
        return self._ok()

    async def seed(self, request: web.Request) -> web.Response:
        try:
            self.core.load_seed(await self._json(request))
        except (ValueError, SeedError) as exc:
            return self._bad(str(exc))
        return self._ok()

    async def state(self, _request: web.Request) -> web.Response:
        return self._ok(self.core.snapshot())

    async def bindings(self, request: web.Request) -> web.Response:
        return self._ok(self.core.bindings(request.query.get("instance_id")))

    async def bind(self, request: web.Request) -> web.Response:
        try:
            doc = await self._json(request)
            pid = self.core.bind(
                doc["number"],
                doc["instance_id"],
                doc.get("usage", "Bidirection"),
                doc.get("contact_flow_id"),
                tuple(doc.get("skill_group_ids", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return self._bad(f"bind: {exc}")
        return self._ok({"phone_number_id": pid})

    async def unbind(self, request: web.Request) -> web.Response:
        try:
            self.core.unbind((await self._json(request))["number"])
        except (ValueError, KeyError, TypeError) as exc:
            return self._bad(f"unbind: {exc}")
        return self._ok()

    async def list_faults(self, _request: web.Request) -> web.Response:
        return self._ok(self.core.faults.describe())

    async def add_fault(self, request: web.Request) -> web.Response:
        try:
            doc = dict(await self._json(request))
            kind = doc.pop("kind")
            fault_id = self.core.faults.inject(
                kind,
                action=doc.pop("action", None),
                times=doc.pop("times", None),
                probability=doc.pop("probability", None),
                skip=doc.pop("skip", 0),
                **doc.pop("options", {}),
                **doc,
            )
        except (ValueError, KeyError, TypeError) as exc:
            return self._bad(f"fault: {exc}")
        return self._ok({"id": fault_id})

    async def clear_faults(self, _request: web.Request) -> web.Response:
        self.core.faults.clear()
        return self._ok()

    async def remove_fault(self, request: web.Request) -> web.Response:
        if not self.core.faults.remove(request.match_info["fault_id"]):
            return self._bad(f"no fault {request.match_info['fault_id']}", 404)
        return self._ok()

    async def journal(self, request: web.Request) -> web.Response:
        action = request.query.get("action")
        return self._ok(
            [e.to_dict() for e in self.core.journal.entries() if action is None or e.action == action]
        )

    async def clear_journal(self, _request: web.Request) -> web.Response:
        self.core.journal.clear()
        return self._ok()

    async def not_found(self, request: web.Request) -> web.Response:
        return self._bad(f"no admin endpoint {request.method} {request.path}", 404)


class _ServerThread:
    """An aiohttp server on its own event loop in a daemon thread; start() returns once it listens."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="ccc-emulator", daemon=True)
        self.port = 0

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("ccc-emulator did not start listening in time")
        if self._error is not None:
            raise self._error

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        # Short shutdown: idle keep-alive connections of SDK clients must not delay stop().
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=0.5, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
            # runner.addresses: one (host, port, ...) per listening socket; port 0 is resolved here.
            self.port = int(runner.addresses[0][1])
            self._ready.set()
            await self._stop.wait()
        finally:
            await runner.cleanup()


class Emulator:
    """A CCC emulator serving HTTP from a background thread (see docs/contracts.md).

    ``with Emulator() as emu:`` starts it on a free port and closes it (:meth:`close`) at the end
    of the block; ``emu.endpoint`` goes into the SDK's ``Config(endpoint=..., protocol="http")``.
    With ``state_path`` the state lives in that SQLite file (an existing one wins over ``seed``);
    otherwise in memory. An AddBulkPhoneNumbers request with more than ``max_batch_size`` numbers
    is refused whole with HTTP 400, ``batch_cap_code`` and ``batch_cap_message`` (``{max}`` in it
    becomes the cap).
    """

    def __init__(
        self,
        seed: SeedSource | None = None,
        state_path: str | os.PathLike[str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_batch_size: int = 100,
        latency_ms: float = 0,
        rng_seed: int = 0,
        batch_cap_code: str = service.DEFAULT_BATCH_CAP_CODE,
        batch_cap_message: str = service.DEFAULT_BATCH_CAP_MESSAGE,
    ) -> None:
        self.core = EmulatorCore(
            seed=seed,
            state_path=state_path,
            max_batch_size=max_batch_size,
            latency_ms=latency_ms,
            rng_seed=rng_seed,
            batch_cap_code=batch_cap_code,
            batch_cap_message=batch_cap_message,
        )
        self.host = host
        self._requested_port = port
        self._server: _ServerThread | None = None
        self._port: int | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> Emulator:
        if self._closed:
            raise RuntimeError("emulator closed; a closed emulator cannot be started again")
        if self._server is not None:
            raise RuntimeError("emulator already started")
        server = _ServerThread(self.core.make_app(), self.host, self._requested_port)
        server.start()
        self._server = server
        self._port = server.port
        return self

    def stop(self) -> None:
        """Stop serving; the state stays open, so the emulator can be inspected or started again."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def close(self) -> None:
        """Stop serving if it does, and close the SQLite state; idempotent.

        A closed emulator cannot be started again, and its state can no longer be read (with a
        ``state_path`` the file keeps it: open a new ``Emulator`` on it).
        """
        self.stop()
        if not self._closed:
            self._closed = True
            self.core.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("emulator not started")
        return self._port

    @property
    def endpoint(self) -> str:
        """``host:port`` for ``Config(endpoint=..., protocol="http")``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def max_batch_size(self) -> int:
        return self.core.max_batch_size

    @max_batch_size.setter
    def max_batch_size(self, value: int) -> None:
        _check_max_batch_size(value)
        self.core.max_batch_size = value

    @property
    def batch_cap_code(self) -> str:
        return self.core.batch_cap_code

    @batch_cap_code.setter
    def batch_cap_code(self, value: str) -> None:
        _check_batch_cap_code(value)
        self.core.batch_cap_code = value

    @property
    def batch_cap_message(self) -> str:
        """The refusal's message; ``{max}`` in it is replaced by ``max_batch_size``."""
        return self.core.batch_cap_message

    @batch_cap_message.setter
    def batch_cap_message(self, value: str) -> None:
        _check_batch_cap_message(value)
        self.core.batch_cap_message = value

    @property
    def latency_ms(self) -> float:
        return self.core.latency_ms

    @latency_ms.setter
    def latency_ms(self, value: float) -> None:
        self.core.latency_ms = value

    # -- state -----------------------------------------------------------------------------------

    def reset(self, seed: SeedSource | None = None) -> None:
        """State back to ``seed`` (default: the constructor's, else demo); journal and faults cleared.

        ``max_batch_size``, ``latency_ms``, ``batch_cap_code`` and ``batch_cap_message`` return to
        their constructor values. A request being applied when this is called finishes first; one
        started before it and still in flight (say, sleeping in injected latency) is dropped without
        being applied or journaled.
        """
        self.core.reset(seed)

    def load_seed(self, seed: SeedSource) -> None:
        """Replace the state with this seed (a dict in the seed-file shape or a JSON file path)."""
        self.core.load_seed(seed)

    def snapshot(self) -> dict[str, Any]:
        return self.core.snapshot()

    def bindings(self, instance_id: str | None = None) -> list[dict[str, Any]]:
        return self.core.bindings(instance_id)

    def bind(
        self,
        number: str,
        instance_id: str,
        usage: str = "Bidirection",
        contact_flow_id: str | None = None,
        skill_group_ids: tuple[str, ...] | list[str] = (),
    ) -> str:
        """Bind behind the API's back (drift); returns the PhoneNumberId."""
        return self.core.bind(number, instance_id, usage, contact_flow_id, skill_group_ids)

    def unbind(self, number: str) -> None:
        """Unbind behind the API's back (drift)."""
        self.core.unbind(number)

    # -- journal and faults ----------------------------------------------------------------------

    @property
    def journal(self) -> list[JournalEntry]:
        return self.core.journal.entries()

    def calls(self, action: str | None = None) -> int:
        """API requests recorded (every outcome) for this action, or for all actions."""
        return self.core.journal.count(action)

    def clear_journal(self) -> None:
        self.core.journal.clear()

    def inject(
        self,
        kind: str,
        *,
        action: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        skip: int = 0,
        **options: Any,
    ) -> str:
        """Register a fault (see faults.py for kinds and options); returns its id.

        ``skip=K`` lets the first K matching calls through before the fault starts firing.
        """
        return self.core.faults.inject(
            kind, action=action, times=times, probability=probability, skip=skip, **options
        )

    def remove_fault(self, fault_id: str) -> bool:
        return self.core.faults.remove(fault_id)

    def clear_faults(self) -> None:
        self.core.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self.core.faults.describe()
