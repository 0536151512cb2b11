"""The trivial project's program: two files, the second naming the first's path.

Config (namespace ``trivial``): ``root`` (read by the provider), ``greeting`` (the first file's
content, default "hello"), ``token`` (secret, optional: becomes the first file's note).
"""

import pulumi
from filestore import TextFile

config = pulumi.Config()
token = config.get_secret("token")

first = TextFile("first", content=config.get("greeting") or "hello", note=token)
second = TextFile("second", content=first.path.apply(lambda path: f"see {path}"))

pulumi.export("first_path", first.path)
pulumi.export("second_content", second.content)
if token is not None:
    pulumi.export("first_note", first.note)
