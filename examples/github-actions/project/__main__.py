"""The numbers of a support line, reviewed in pull requests: edit NUMBERS, open a pull request.

The workflow in ../preview.yml posts `pulumi preview --diff` on the pull request, one block per
added, removed or changed number; ../up.yml applies the change when the pull request is merged.
Ids are the CCC emulator's demo account; replace them with your instance's.
"""

import pulumi

from ccc_numbers import PhoneNumberBinding

INSTANCE_ID = "d278629c-c687-4aa3-b044-4fe9b012e7ef"
WELCOME = "8Cvg_0mcsm6K"  # contact flow "Welcome"
MAIN_MENU = "ivr_MainMenu01"  # contact flow "IVR main menu"
DEFAULT_GROUP = "3f3ceb0d-d6b6-4c97-af20-f3daf04f90e0"  # skill group "Default"

# Each number with what differs from the binding's settings below ({} = all of them).
NUMBERS = {
    "02160660100": {},
    "02160660101": {},
    "02160660102": {},
}

support = PhoneNumberBinding(
    "support",
    instance_id=INSTANCE_ID,
    numbers=NUMBERS,
    usage="Bidirection",
    contact_flow_id=WELCOME,
    skill_group_ids=[DEFAULT_GROUP],
)

pulumi.export("phone_number_ids", support.phone_number_ids)
