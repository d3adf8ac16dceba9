"""The one naming rule of the JSON rockets speaks: every field is camelCase (``launch_speed`` is
``launchSpeed``), in message payloads and in rocket states alike."""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["camel_case_problem"]


def camel_case_problem(struct: type[msgspec.Struct], fields: list[str] | None = None) -> str | None:
    """What breaks the rule in ``struct`` (only ``fields`` of it, when given), or None.

    The rule is msgspec's own ``rename="camel"``: declaring a Struct with it is how to keep it.
    """
    declared = {f.name: f.encode_name for f in msgspec.structs.fields(struct)}
    names = [name for name in (fields or declared) if name in declared]
    if not names:
        return None
    # msgspec's own conversion, so that the rule and the remedy cannot disagree.
    camel = msgspec.defstruct("Camel", [(name, Any) for name in names], rename="camel")
    wanted = {f.name: f.encode_name for f in msgspec.structs.fields(camel)}
    wrong = [name for name in names if declared[name] != wanted[name]]
    if not wrong:
        return None
    shown = ", ".join(f"{declared[n]!r} (should be {wanted[n]!r})" for n in wrong)
    return (
        f"{struct.__name__}: every JSON field is camelCase, but it writes {shown}; declare it "
        'with rename="camel"'
    )
