"""Per-number settings: the mapping form of `numbers`.

Toll-free 400 numbers may only take inbound calls, so they go Inbound to the IVR menu; the
landlines take the resource-level defaults (Bidirection, Welcome flow) and add their own skill
groups. Ids are the CCC emulator's demo account.
"""

import pulumi

from ccc_numbers import PhoneNumberBinding

INSTANCE_ID = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
WELCOME_FLOW = "8Cvg_0mcsm6K"
IVR_FLOW = "ivr_MainMenu01"
DEFAULT_GROUP = "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"
SALES_GROUP = "9a7c1e52-5b1d-4f0e-8d3a-2f6b7c8d9e01"
SUPPORT_GROUP = "b2e4f6a8-1c3d-4e5f-9a7b-0c2d4e6f8a02"

numbers: dict[str, dict[str, object]] = {}
# Ten 400 numbers: Inbound only, answered by the IVR menu.
for i in range(10):
    numbers[f"400100{i:04d}"] = {"usage": "Inbound", "contact_flow_id": IVR_FLOW}
# Sales lines and support lines: Bidirection (the default below) with their own skill groups.
for i in range(100, 105):
    numbers[f"0216066{i:04d}"] = {"skill_group_ids": [SALES_GROUP]}
for i in range(105, 110):
    numbers[f"0216066{i:04d}"] = {"skill_group_ids": [SUPPORT_GROUP, DEFAULT_GROUP]}

hotline = PhoneNumberBinding(
    "hotline",
    instance_id=INSTANCE_ID,
    numbers=numbers,
    # Resource-level defaults, used where a number does not say otherwise.
    usage="Bidirection",
    contact_flow_id=WELCOME_FLOW,
)

pulumi.export("phone_number_ids", hotline.phone_number_ids)
