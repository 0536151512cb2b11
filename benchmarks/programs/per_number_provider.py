"""A dynamic provider with one resource per phone number: the shape of AWS's and Twilio's providers.

Contender (b) of the benchmark, a peer written the plain way: each ``PhoneNumber`` resource binds one
number with ``AddPhoneNumber`` (create), changes it with ``ModifyPhoneNumber`` (update), reads it
back from ``ListPhoneNumbers`` (refresh; CCC 2017 has no per-number read) and unbinds it with
``RemovePhoneNumber`` (delete), all through the official generated SDK ``alibabacloud_ccc20170705``.
Check and diff are offline. Settings come from the stack config in ``configure()`` (``bench:endpoint``
as ``http://host:port``, ``bench:accessKeyId``, ``bench:accessKeySecret``), kept in this module,
never on the pickled provider; the SDK is imported on the first call that needs it.

Must not batch, cache listings or retry: it is the baseline that batching is measured against.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from pulumi import ResourceOptions
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

_settings: dict[str, str] = {}
_local = threading.local()
_REPLACE_ON = ("instance_id", "number")
_UPDATE_ON = ("usage", "contact_flow_id")


def _client() -> Any:
    """This thread's SDK client (the host serves several requests at once)."""
    client = getattr(_local, "client", None)
    if client is None:
        from alibabacloud_ccc20170705.client import Client  # noqa: PLC0415 - on first use, as a provider would
        from alibabacloud_tea_openapi.models import Config  # noqa: PLC0415

        url = urlsplit(_settings["endpoint"])
        client = Client(
            Config(
                access_key_id=_settings["access_key_id"],
                access_key_secret=_settings["access_key_secret"],
                endpoint=url.netloc,
                protocol=url.scheme,
                region_id="cn-shanghai",
            )
        )
        _local.client = client
    return client


def _runtime() -> Any:
    from alibabacloud_tea_util.models import RuntimeOptions  # noqa: PLC0415

    return RuntimeOptions(read_timeout=30_000, connect_timeout=5_000)


def _models() -> Any:
    from alibabacloud_ccc20170705 import models  # noqa: PLC0415

    return models


class PhoneNumberProvider(ResourceProvider):
    """One bound number: inputs ``instance_id``, ``number``, ``usage``, ``contact_flow_id``."""

    def configure(self, req: ConfigureRequest) -> None:
        _settings.update(
            endpoint=str(req.config.get("bench:endpoint")),
            access_key_id=str(req.config.get("bench:accessKeyId")),
            access_key_secret=str(req.config.get("bench:accessKeySecret")),
        )

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [key for key in _REPLACE_ON if olds.get(key) != news.get(key)]
        updates = [key for key in _UPDATE_ON if olds.get(key) != news.get(key)]
        return DiffResult(
            changes=bool(replaces or updates), replaces=replaces, delete_before_replace=bool(replaces)
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        request = _models().AddPhoneNumberRequest(
            instance_id=props["instance_id"],
            phone_number=props["number"],
            usage=props["usage"],
            contact_flow_id=props["contact_flow_id"],
        )
        answer = _client().add_phone_number_with_options(request, _runtime())
        phone_number_id = answer.body.phone_number.phone_number_id
        return CreateResult(phone_number_id, {**props, "phone_number_id": phone_number_id})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        request = _models().ListPhoneNumbersRequest(instance_id=props["instance_id"], outbound_only=False)
        answer = _client().list_phone_numbers_with_options(request, _runtime())
        for item in answer.body.phone_numbers.phone_number or []:
            if item.phone_number_id == id_:
                flow = item.contact_flow.contact_flow_id if item.contact_flow else None
                live = {**props, "number": item.number, "usage": item.usage, "contact_flow_id": flow}
                return ReadResult(id_, live)
        return ReadResult(None, {})  # gone: the engine drops it from state

    def update(self, id_: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        request = _models().ModifyPhoneNumberRequest(
            instance_id=news["instance_id"],
            phone_number_id=id_,
            usage=news["usage"],
            contact_flow_id=news["contact_flow_id"],
        )
        _client().modify_phone_number_with_options(request, _runtime())
        return UpdateResult({**news, "phone_number_id": id_})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        request = _models().RemovePhoneNumberRequest(instance_id=props["instance_id"], phone_number_id=id_)
        _client().remove_phone_number_with_options(request, _runtime())


class PhoneNumber(Resource):
    """One phone number bound to a CCC instance."""

    phone_number_id: Any

    def __init__(
        self,
        name: str,
        *,
        instance_id: str,
        number: str,
        usage: str,
        contact_flow_id: str,
        opts: ResourceOptions | None = None,
    ) -> None:
        props = {
            "instance_id": instance_id,
            "number": number,
            "usage": usage,
            "contact_flow_id": contact_flow_id,
            "phone_number_id": None,
        }
        super().__init__(PhoneNumberProvider(), name, props, opts)
