"""Quickstart: three numbers on the demo instance, sharing one set of settings.

Ids are the CCC emulator's demo account; replace them with your instance's.
"""

import pulumi

from ccc_numbers import PhoneNumberBinding

INSTANCE_ID = "d278629c-c687-4aa3-b044-4fe9b012e7ef"

support = PhoneNumberBinding(
    "support",
    instance_id=INSTANCE_ID,
    numbers=["02160660000", "02160660001", "02160660002"],
    usage="Bidirection",  # every number: inbound and outbound calls
    contact_flow_id="8Cvg_0mcsm6K",  # the "Welcome" flow answers inbound calls
    skill_group_ids=["3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"],  # "Default"
)

pulumi.export("phone_number_ids", support.phone_number_ids)
