"""How :mod:`rockets_client.sync` is made from :mod:`rockets_client.aio`: its ``async`` and
``await`` taken out, as httpcore makes its sync half (with unasync), so that the two clients
cannot drift apart. ``python sdk/src/rockets_client/unasync.py`` rewrites ``sync.py`` (it
runs without importing the package, which a stale ``sync.py`` may break); a test fails while
``sync.py`` differs from what this module makes of ``aio.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ASYNC_SOURCE", "SYNC_SOURCE", "sync_source"]

ASYNC_SOURCE = Path(__file__).with_name("aio.py")
SYNC_SOURCE = Path(__file__).with_name("sync.py")

_DOCSTRING = '''\
"""The synchronous client: the calls of :mod:`rockets_client.core` sent over ``httpx.Client``.

Generated from :mod:`rockets_client.aio` by :mod:`rockets_client.unasync`: edit that module,
then run ``python sdk/src/rockets_client/unasync.py``; do not edit this one.
"""
'''

_RULES = [
    (re.compile(pattern), replacement)
    for pattern, replacement in [
        (r"\bAsync(?=[A-Z])", ""),  # AsyncRocketsClient, httpx.AsyncClient, AsyncEvents...
        (r"\basync (def|with|for)\b", r"\1"),
        (r"\bawait ", ""),
        (r"\basyncio\b", "time"),
        (r"\b__a(enter|exit)__\b", r"__\1__"),
        (r"\ba(close|read)\b", r"\1"),  # httpx's async spellings
    ]
]

# A loop that only yields what it iterates is `yield from` once it is not async.
_YIELD_EACH = re.compile(r"^( +)for (\w+) in (.+):\n +yield \2$", re.M)

_FROM_IMPORT = re.compile(r"^(from [\w.]+ import )(\w+(?:, \w+)+)$", re.M)


def _sorted_names(line: re.Match[str]) -> str:
    """A one-line ``from … import`` with its names in ruff's order again (``AsyncIterator,
    Iterable`` becomes ``Iterable, Iterator``): constants, then classes, then the rest."""

    def order(name: str) -> tuple[int, str]:
        kind = 0 if len(name) > 1 and name.isupper() else 1 if name[0].isupper() else 2
        return kind, name.lower()

    return line[1] + ", ".join(sorted(line[2].split(", "), key=order))


def sync_source(async_source: str) -> str:
    """The source of the sync client, given that of the async one."""
    docstring = re.match(r'"""(?:.|\n)*?"""\n', async_source)
    if docstring is None:
        raise ValueError("the async client's source does not open with its docstring")
    code = async_source[docstring.end() :]
    for pattern, replacement in _RULES:
        code = pattern.sub(replacement, code)
    code = _YIELD_EACH.sub(r"\1yield from \3", code)
    return _DOCSTRING + _FROM_IMPORT.sub(_sorted_names, code)


if __name__ == "__main__":
    SYNC_SOURCE.write_text(sync_source(ASYNC_SOURCE.read_text()))
