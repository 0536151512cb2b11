"""Contender (c): an operator's script, the official SDK called directly from a pool of 4 threads, no Pulumi.

What an operator who knows the API writes instead of a provider. Every run first lists the instance
(ListPhoneNumbers: the ids that ModifyPhoneNumber and RemovePhoneNumber need, and what is bound),
then, by mode:

* ``apply``: AddPhoneNumber for each desired number not bound, ModifyPhoneNumber for each whose
  contact flow differs (the numbers of ``bench-input.json``);
* ``plan``: prints what ``apply`` would do and calls nothing else (its preview, and its refresh: a
  script keeps no state to refresh);
* ``destroy``: RemovePhoneNumber for each desired number that is bound.

Run as ``python operator_script.py MODE ENDPOINT_URL`` in a folder holding ``bench-input.json``; the
access key comes from ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``. It
prints one JSON line: seconds spent importing the SDK and making the calls, and the call counts.
Must not batch: CCC 2017's AddBulkPhoneNumbers is what this project adds.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

THREADS = 4


def main(mode: str, endpoint: str) -> None:
    started = time.perf_counter()
    from alibabacloud_ccc20170705 import models  # noqa: PLC0415 - timed: part of what the script pays
    from alibabacloud_ccc20170705.client import Client  # noqa: PLC0415
    from alibabacloud_tea_openapi.models import Config  # noqa: PLC0415
    from alibabacloud_tea_util.models import RuntimeOptions  # noqa: PLC0415

    imported = time.perf_counter()
    spec = json.loads(Path("bench-input.json").read_text())
    instance = spec["instance_id"]
    desired = {n: spec["overrides"].get(n, spec["contact_flow_id"]) for n in spec["numbers"]}
    url = urlsplit(endpoint)
    config = Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        endpoint=url.netloc,
        protocol=url.scheme,
        region_id="cn-shanghai",
    )
    local = threading.local()
    runtime = RuntimeOptions(read_timeout=30_000, connect_timeout=5_000)

    def client() -> Any:
        if not hasattr(local, "client"):
            local.client = Client(config)
        return local.client

    listing = client().list_phone_numbers_with_options(
        models.ListPhoneNumbersRequest(instance_id=instance, outbound_only=False), runtime
    )
    live = {
        item.number: (item.phone_number_id, item.contact_flow.contact_flow_id if item.contact_flow else None)
        for item in listing.body.phone_numbers.phone_number or []
    }
    work: list[tuple[str, Any]] = []
    if mode == "destroy":
        work = [
            ("RemovePhoneNumber", models.RemovePhoneNumberRequest(instance_id=instance, phone_number_id=pid))
            for number, (pid, _) in live.items()
            if number in desired
        ]
    else:
        for number, flow in desired.items():
            if number not in live:
                request = models.AddPhoneNumberRequest(
                    instance_id=instance, phone_number=number, usage=spec["usage"], contact_flow_id=flow
                )
                work.append(("AddPhoneNumber", request))
            elif live[number][1] != flow:
                request = models.ModifyPhoneNumberRequest(
                    instance_id=instance,
                    phone_number_id=live[number][0],
                    usage=spec["usage"],
                    contact_flow_id=flow,
                )
                work.append(("ModifyPhoneNumber", request))
    calls = {"ListPhoneNumbers": 1}
    if mode != "plan":
        methods = {
            "AddPhoneNumber": "add_phone_number_with_options",
            "ModifyPhoneNumber": "modify_phone_number_with_options",
            "RemovePhoneNumber": "remove_phone_number_with_options",
        }

        def send(item: tuple[str, Any]) -> None:
            getattr(client(), methods[item[0]])(item[1], runtime)

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(send, work))
        for action, _ in work:
            calls[action] = calls.get(action, 0) + 1
    done = time.perf_counter()
    planned: dict[str, int] = {}
    for action, _ in work:
        planned[action] = planned.get(action, 0) + 1
    print(
        json.dumps(
            {
                "mode": mode,
                "import_s": imported - started,
                "api_s": done - imported,
                "calls": calls,
                "planned": planned,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
