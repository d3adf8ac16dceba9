"""Every JSON shape that crosses the HTTP boundary, in both directions: the SDK's
(:mod:`rockets_client.wire`, which the server takes its shapes from, so that client and server
share one definition of each), and the server's sentences about a value msgspec refused.
msgspec, the SDK's shapes and the standard library only.
"""

from __future__ import annotations

import re

from rockets_client.wire import (
    CHANNEL_PATTERN,
    MAX_CHANNEL_LENGTH,
    MAX_COUNT,
    MAX_MESSAGE_NUMBER,
    PRINTABLE_PATTERN,
    UNPRINTABLE,
    Ack,
    AckStatus,
    Channel,
    ConflictDetail,
    Count,
    Envelope,
    ErrorBody,
    ErrorKind,
    EventView,
    Health,
    MessageNumber,
    MessageSummary,
    MessageTypeInfo,
    Metadata,
    PluginDescription,
    PluginSource,
    PluginsReport,
    Printable,
    ProjectionInfo,
    RocketQuery,
    StalledChannel,
    StateFieldInfo,
    StatePoint,
    Stopped,
    StreamedEvent,
    StreamReset,
    message_type_of,
)

__all__ = [
    "CHANNEL_PATTERN",
    "MAX_CHANNEL_LENGTH",
    "MAX_COUNT",
    "MAX_MESSAGE_NUMBER",
    "PRINTABLE_PATTERN",
    "UNPRINTABLE",
    "Ack",
    "AckStatus",
    "Channel",
    "ConflictDetail",
    "Count",
    "Envelope",
    "ErrorBody",
    "ErrorKind",
    "EventView",
    "Health",
    "MessageNumber",
    "MessageSummary",
    "MessageTypeInfo",
    "Metadata",
    "PluginDescription",
    "PluginSource",
    "PluginsReport",
    "Printable",
    "ProjectionInfo",
    "RocketQuery",
    "StalledChannel",
    "StateFieldInfo",
    "StatePoint",
    "Stopped",
    "StreamReset",
    "StreamedEvent",
    "in_words",
    "message_type_of",
    "plainly",
]

_UNPRINTABLE_IN_WORDS = (
    "no control character, line or paragraph separator, or bidi embedding, override or "
    "isolate control"
)
_IN_WORDS = {
    PRINTABLE_PATTERN: f"printable text ({_UNPRINTABLE_IN_WORDS})",
    CHANNEL_PATTERN: f"printable text without '/' ({_UNPRINTABLE_IN_WORDS})",
}


def plainly(sentence: str) -> str:
    """msgspec's sentence about a text that broke one of the rules above, with the rule in
    words rather than as its pattern; any other sentence unchanged."""
    if "matching regex" not in sentence:
        return sentence
    for pattern, words in _IN_WORDS.items():
        sentence = sentence.replace(f"`str` matching regex {pattern!r}", words)
    return sentence


_KINDS = {
    "int": "an integer",
    "float": "a number",
    "str": "text",
    "bool": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
_BOUNDS = {">=": "of at least", "<=": "of at most", ">": "greater than", "<": "less than"}
_EXPECTED = re.compile(r"Expected `(\w+)`(?: (>=|<=|>|<) (\S+))?(?:, got `(\w+)`)?")
_LENGTH = re.compile(r"Expected `(str|array)` of length (>=|<=) (\d+)")


def in_words(sentence: str) -> str:
    """msgspec's sentence about a single value (a query parameter, a setting) in words: its
    ``$`` path dropped, ``Expected `int` >= 1`` as "Expected an integer of at least 1"."""
    sentence = plainly(sentence).split(" - at `$")[0]

    def length(match: re.Match[str]) -> str:
        kind, op, n = match.groups()
        unit = "characters" if kind == "str" else "items"
        return f"Expected {_KINDS[kind]} {_BOUNDS[op]} {n} {unit}"

    def expected(match: re.Match[str]) -> str:
        kind, op, bound, got = match.groups()
        words = f"Expected {_KINDS.get(kind, kind)}"
        if op is not None:
            words += f" {_BOUNDS[op]} {bound}"
        if got is not None:
            words += f", got {_KINDS.get(got, got)}"
        return words

    return _EXPECTED.sub(expected, _LENGTH.sub(length, sentence))
