"""The built-in demo seed: the account every example, the demo stack and the tests start from.

Owns the demo account's ids and numbers as plain data in the seed-file shape (see README, "The
emulator"). Must not reach into state or the server: it is data, loaded like any user seed.

The ids are part of the public contract (examples and users' tests hard-code them), so change them
only together with the examples and the README table.
"""

from __future__ import annotations

from typing import Any

DEMO_ACCESS_KEY_ID = "LTAI5tCccEmulatorDemo01"
DEMO_ACCESS_KEY_SECRET = "ccc-emulator-demo-secret-0001"
#: A second key that only works together with its STS security token.
DEMO_STS_ACCESS_KEY_ID = "STS.CccEmulatorDemo02"
DEMO_STS_ACCESS_KEY_SECRET = "ccc-emulator-demo-sts-secret-0002"
DEMO_STS_SECURITY_TOKEN = "ccc-emulator-demo-security-token-0002"

#: The main demo instance (cn-shanghai), as in Alibaba's own documentation example.
DEMO_INSTANCE_ID = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
#: A second instance, for the multi-instance example.
DEMO_INSTANCE_2_ID = "6a1f0f7e-2b0c-4d7e-9a51-3c9d2e8b4f10"

WELCOME_FLOW_ID = "8Cvg_0mcsm6K"
IVR_FLOW_ID = "ivr_MainMenu01"
AFTER_HOURS_FLOW_ID = "ivr_AfterHrs01"
INSTANCE_2_FLOW_ID = "bj_Welcome0001"

DEFAULT_SKILL_GROUP_ID = "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"
SALES_SKILL_GROUP_ID = "9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01"
SUPPORT_SKILL_GROUP_ID = "b2e4f6a8-1c3d-4e5f-9a7b-0c2d4e6f8a02"
INSTANCE_2_SKILL_GROUP_ID = "c0ffee00-1234-4abc-9def-00000000bj01"

#: 1,200 Shanghai landline numbers 02160660000 .. 02160661199 (purchased, unbound).
LANDLINE_PREFIX = "0216066"
LANDLINE_COUNT = 1200
#: 20 toll-free 400 numbers 4001000000 .. 4001000019 (Inbound only).
TOLL_FREE_PREFIX = "400100"
TOLL_FREE_COUNT = 20
#: Purchased but the account is in arrears for them: AddBulkPhoneNumbers puts them in ArrearagePhoneNumbers.
ARREARS_NUMBERS = ("02160669998", "02160669999")
#: Test-only numbers with remaining minutes.
TEST_ONLY_NUMBERS = ("02160668000", "02160668001")
#: Bound to the second instance in the seed: binding it to the demo instance lands in UserdPhoneNumbers.
PREBOUND_NUMBER = "01086394552"


def landline(index: int) -> str:
    """The demo landline number with this index (0 .. LANDLINE_COUNT-1)."""
    return f"{LANDLINE_PREFIX}{index:04d}"


def toll_free(index: int) -> str:
    """The demo 400 number with this index (0 .. TOLL_FREE_COUNT-1)."""
    return f"{TOLL_FREE_PREFIX}{index:04d}"


def demo_seed() -> dict[str, Any]:
    """A fresh copy of the demo seed, in the seed-file shape."""
    numbers: list[dict[str, Any]] = []
    for i in range(LANDLINE_COUNT):
        numbers.append(
            {
                "number": landline(i),
                "trunks": 2 if i % 10 == 0 else 1,
                "description": "Ali Telecom" if i % 2 == 0 else "China Unicom",
                "test_only": False,
                "remaining_time": 0,
                "in_arrears": False,
            }
        )
    for i in range(TOLL_FREE_COUNT):
        numbers.append(
            {
                "number": toll_free(i),
                "trunks": 10,
                "description": "400 toll-free",
                "test_only": False,
                "remaining_time": 0,
                "in_arrears": False,
            }
        )
    for n in ARREARS_NUMBERS:
        numbers.append(
            {"number": n, "trunks": 1, "description": "Ali Telecom", "test_only": False,
             "remaining_time": 0, "in_arrears": True}
        )
    for n in TEST_ONLY_NUMBERS:
        numbers.append(
            {"number": n, "trunks": 1, "description": "Test number", "test_only": True,
             "remaining_time": 300, "in_arrears": False}
        )
    numbers.append(
        {"number": PREBOUND_NUMBER, "trunks": 1, "description": "Beijing Telecom", "test_only": False,
         "remaining_time": 0, "in_arrears": False}
    )
    return {
        "access_keys": [
            {"id": DEMO_ACCESS_KEY_ID, "secret": DEMO_ACCESS_KEY_SECRET},
            {
                "id": DEMO_STS_ACCESS_KEY_ID,
                "secret": DEMO_STS_ACCESS_KEY_SECRET,
                "security_token": DEMO_STS_SECURITY_TOKEN,
            },
        ],
        "instances": [
            {
                "id": DEMO_INSTANCE_ID,
                "contact_flows": [
                    {"id": WELCOME_FLOW_ID, "name": "Welcome", "description": "Welcome", "type": "Mainflow"},
                    {"id": IVR_FLOW_ID, "name": "IVR main menu", "description": "1 sales, 2 support",
                     "type": "Mainflow"},
                    {"id": AFTER_HOURS_FLOW_ID, "name": "After hours", "description": "Closed message",
                     "type": "Mainflow"},
                ],
                "skill_groups": [
                    {"id": DEFAULT_SKILL_GROUP_ID, "name": "Default"},
                    {"id": SALES_SKILL_GROUP_ID, "name": "Sales"},
                    {"id": SUPPORT_SKILL_GROUP_ID, "name": "Support"},
                ],
            },
            {
                "id": DEMO_INSTANCE_2_ID,
                "contact_flows": [
                    {"id": INSTANCE_2_FLOW_ID, "name": "Beijing welcome", "description": "Welcome",
                     "type": "Mainflow"},
                ],
                "skill_groups": [
                    {"id": INSTANCE_2_SKILL_GROUP_ID, "name": "Beijing default"},
                ],
            },
        ],
        "numbers": numbers,
        "bindings": [
            {
                "number": PREBOUND_NUMBER,
                "instance_id": DEMO_INSTANCE_2_ID,
                "usage": "Bidirection",
                "contact_flow_id": INSTANCE_2_FLOW_ID,
                "skill_group_ids": [INSTANCE_2_SKILL_GROUP_ID],
            }
        ],
    }
