"""The root demo stack: the quickstart bindings on the emulator's demo instance.

`scripts/demo` runs `pulumi up` here with the committed dev stack (`ccc:endpoint: embedded`).
The ids below are the emulator's demo account (README, "The emulator"); for a real account,
put your own instance, flow, skill group and numbers.
"""

import pulumi

from ccc_numbers import PhoneNumberBinding

DEMO_INSTANCE = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
WELCOME_FLOW = "8Cvg_0mcsm6K"
DEFAULT_SKILL_GROUP = "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"

support = PhoneNumberBinding(
    "support",
    instance_id=DEMO_INSTANCE,
    # Any common spelling works; numbers are normalised to digits (a leading + is kept).
    numbers=["021 6066 0000", "021-6066-0001", "02160660002"],
    usage="Bidirection",
    contact_flow_id=WELCOME_FLOW,
    skill_group_ids=[DEFAULT_SKILL_GROUP],
)

pulumi.export("phone_number_ids", support.phone_number_ids)
