"""The rockets SDK, for the server's users: the ``rockets-client`` distribution's package,
:mod:`rockets_client`, under the name it has always had, every public name of it. New code
imports ``rockets_client``, which installs without the server (docs/sdk.md).

A star import, so that this module names no message type (the standard payloads are among the
names), as no module of rockets does.
"""

from __future__ import annotations

import rockets_client
from rockets_client import *  # noqa: F403

__all__: list[str] = []
__all__ += rockets_client.__all__
