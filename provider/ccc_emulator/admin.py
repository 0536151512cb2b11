"""The admin endpoints under ``/_emulator/``: the emulator's Python API over HTTP, as JSON.

Owns the admin routes (health, reset, seed, state, bindings, bind and unbind, faults, journal),
their JSON bodies and their errors (400 ``{"error": "..."}`` for bad input, 404 for an unknown
admin path). Every endpoint calls the public API of :class:`~ccc_emulator.core.EmulatorCore`, so
an admin call and the same Python call do the same thing. Must not serve the CCC API (that is
``pipeline.py``, at ``/`` only, so the two cannot collide) and is never journaled.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .core import EmulatorCore
from .seed import SeedError

__all__ = ["ADMIN_PREFIX", "add_admin_routes"]

#: Admin endpoints live here; the API is only ever served at "/".
ADMIN_PREFIX = "/_emulator"


def add_admin_routes(router: web.UrlDispatcher, core: EmulatorCore) -> None:
    """Register every admin endpoint (and the admin 404) on ``router``, before the API's catch-all."""
    admin = _Admin(core)
    router.add_get(f"{ADMIN_PREFIX}/health", admin.health)
    router.add_post(f"{ADMIN_PREFIX}/reset", admin.reset)
    router.add_post(f"{ADMIN_PREFIX}/seed", admin.seed)
    router.add_get(f"{ADMIN_PREFIX}/state", admin.state)
    router.add_get(f"{ADMIN_PREFIX}/bindings", admin.bindings)
    router.add_post(f"{ADMIN_PREFIX}/bind", admin.bind)
    router.add_post(f"{ADMIN_PREFIX}/unbind", admin.unbind)
    router.add_get(f"{ADMIN_PREFIX}/faults", admin.list_faults)
    router.add_post(f"{ADMIN_PREFIX}/faults", admin.add_fault)
    router.add_delete(f"{ADMIN_PREFIX}/faults", admin.clear_faults)
    router.add_delete(f"{ADMIN_PREFIX}/faults/{{fault_id}}", admin.remove_fault)
    router.add_get(f"{ADMIN_PREFIX}/journal", admin.journal)
    router.add_delete(f"{ADMIN_PREFIX}/journal", admin.clear_journal)
    router.add_route("*", ADMIN_PREFIX + "/{tail:.*}", admin.not_found)


def _ok(payload: Any = None) -> web.Response:
    return web.json_response({"ok": True} if payload is None else payload)


def _bad(message: str, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json(request: web.Request, *, optional: bool = False) -> Any:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return None
        raise ValueError("expected a JSON body")
    return json.loads(raw)


class _Admin:
    """The handlers, bound to one emulator."""

    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    async def health(self, _request: web.Request) -> web.Response:
        return _ok()

    async def reset(self, request: web.Request) -> web.Response:
        try:
            seed = await _json(request, optional=True)
            self.core.reset(seed)
        except (ValueError, SeedError) as exc:
            return _bad(str(exc))
        return _ok()

    async def seed(self, request: web.Request) -> web.Response:
        try:
            self.core.load_seed(await _json(request))
        except (ValueError, SeedError) as exc:
            return _bad(str(exc))
        return _ok()

    async def state(self, _request: web.Request) -> web.Response:
        return _ok(self.core.snapshot())

    async def bindings(self, request: web.Request) -> web.Response:
        return _ok(self.core.bindings(request.query.get("instance_id")))

    async def bind(self, request: web.Request) -> web.Response:
        try:
            doc = await _json(request)
            pid = self.core.bind(
                doc["number"],
                doc["instance_id"],
                doc.get("usage", "Bidirection"),
                doc.get("contact_flow_id"),
                tuple(doc.get("skill_group_ids", ())),
            )
        except (ValueError, KeyError, TypeError) as exc:
            return _bad(f"bind: {exc}")
        return _ok({"phone_number_id": pid})

    async def unbind(self, request: web.Request) -> web.Response:
        try:
            self.core.unbind((await _json(request))["number"])
        except (ValueError, KeyError, TypeError) as exc:
            return _bad(f"unbind: {exc}")
        return _ok()

    async def list_faults(self, _request: web.Request) -> web.Response:
        return _ok(self.core.faults())

    async def add_fault(self, request: web.Request) -> web.Response:
        try:
            doc = dict(await _json(request))
            kind = doc.pop("kind")
            fault_id = self.core.inject(
                kind,
                action=doc.pop("action", None),
                times=doc.pop("times", None),
                probability=doc.pop("probability", None),
                skip=doc.pop("skip", 0),
                **doc.pop("options", {}),
                **doc,
            )
        except (ValueError, KeyError, TypeError) as exc:
            return _bad(f"fault: {exc}")
        return _ok({"id": fault_id})

    async def clear_faults(self, _request: web.Request) -> web.Response:
        self.core.clear_faults()
        return _ok()

    async def remove_fault(self, request: web.Request) -> web.Response:
        if not self.core.remove_fault(request.match_info["fault_id"]):
            return _bad(f"no fault {request.match_info['fault_id']}", 404)
        return _ok()

    async def journal(self, request: web.Request) -> web.Response:
        action = request.query.get("action")
        return _ok([e.to_dict() for e in self.core.journal if action is None or e.action == action])

    async def clear_journal(self, _request: web.Request) -> web.Response:
        self.core.clear_journal()
        return _ok()

    async def not_found(self, request: web.Request) -> web.Response:
        return _bad(f"no admin endpoint {request.method} {request.path}", 404)
