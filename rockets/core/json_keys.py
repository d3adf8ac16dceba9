"""Keys that appear twice in one object of a JSON text: msgspec keeps the last of two equal keys
and says nothing, so a second ``"metadata"`` would silently replace the first. The codec counts
keys with what is here and refuses a text in which one repeats (see ``Codec.decode``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["SPACE_BEFORE_COLON", "keys_in_text", "present_keys", "repeated_key"]

# A JSON string cannot hold an unescaped
# quote, so in a valid text, matched from the start, each match of _STRING is one whole string.
_STRING = rb'"[^"\\]*(?:\\.[^"\\]*)*"'
_STRINGS = re.compile(_STRING)
_TOKEN = re.compile(_STRING + rb"|[{}\[\],]")
SPACE_BEFORE_COLON = re.compile(rb'"[ \t\n\r]+:')


def keys_in_text(body: bytes) -> int:
    """How many keys the (valid) JSON text ``body`` writes, in all its objects: the colons
    outside its strings."""
    if b"\\" in body:
        return _STRINGS.sub(b"", body).count(b":")
    # Without an escape, every quote opens or closes a string: half the regex's time.
    return b"".join(body.split(b'"')[::2]).count(b":")


def repeated_key(body: bytes) -> tuple[str, str]:
    """The path of the first key that appears twice in one object of the (valid) JSON text
    ``body``, and that key."""
    # Per open container: its keys so far (None for an array) and its current key or index.
    frames: list[list[Any]] = []
    wants_key = False
    for token in _TOKEN.findall(body):
        first = token[0]
        if first == 0x22:  # a string
            if wants_key:
                wants_key = False
                key = msgspec.json.decode(token) if b"\\" in token else token[1:-1].decode()
                frame = frames[-1]
                frame[1] = key
                if key in frame[0]:
                    return _path(frames), key
                frame[0].add(key)
        elif first == 0x2C:  # a comma
            frame = frames[-1]
            wants_key = frame[0] is not None
            if not wants_key:
                frame[1] += 1
        elif first == 0x7B:  # {
            frames.append([set(), None])
            wants_key = True
        elif first == 0x5B:  # [
            frames.append([None, 0])
        else:  # } or ], an empty {} included
            frames.pop()
            wants_key = False
    return "$", ""


def _path(frames: list[list[Any]]) -> str:
    parts = ["$"]
    for keys, where in frames:
        if keys is None:
            parts.append(f"[{where}]")
        elif where.isidentifier():
            parts.append(f".{where}")
        else:
            parts.append(f"[{msgspec.json.encode(where).decode()}]")
    return "".join(parts)


def present_keys(schema: type[Any]) -> Callable[[Any], int]:
    """How many keys of a decoded ``schema`` payload surely were in its text: its required
    fields, and those whose value is not their default (a default, when the key was left out,
    is the very object, or an equal copy). Too few says only that the exact count is needed."""
    if schema.__struct_config__.array_like:
        return lambda _: 0
    required = 0
    optional: list[tuple[str, Any]] = []
    for field in msgspec.structs.fields(schema):
        if field.required:
            required += 1
        elif field.default_factory is msgspec.NODEFAULT:
            optional.append((field.name, field.default))
    if not optional:
        return lambda _: required

    def present(payload: Any) -> int:
        count = required
        for name, default in optional:
            value = getattr(payload, name)
            if value is not default and value != default:
                count += 1
        return count

    return present
