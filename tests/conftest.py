"""Suite-wide setup: no proxies for loopback calls."""

from __future__ import annotations

import os

# The Alibaba SDKs read these themselves and ignore NO_PROXY, so a loopback call to the
# emulator would go to the proxy. Cleared at import, before any client is built.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(_name, None)
