"""The query rules of the read routes: which parameters each route takes, how an integer and a
number are written (in digits), and the refusal of a parameter the route does not take or that
is given twice, with the parameter that was probably meant."""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

import msgspec
from litestar import Request
from litestar.constants import RESERVED_KWARGS
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.typing import FieldDefinition

from rockets.core.state_schema import StateSchema
from rockets.errors import InputError
from rockets.http.answers import (
    INTEGER_IN_DIGITS,
    NUMBER_IN_DIGITS,
    error,
    given_more_than_once,
    one_of,
    parameter_problem,
    unknown_parameter,
)
from rockets.http.edge import ACCESS_TOKEN
from rockets.wire import Printable, in_words

__all__ = ["Kind", "QueryRules", "kind_of", "plugin_filters", "value_problem"]

Kind = Literal["integer", "number"]
"""What a query value of a parameter must be written as, when it is not free text."""

_WRITTEN: dict[Kind, tuple[re.Pattern[str], str]] = {
    "integer": (re.compile(r"-?[0-9]+"), INTEGER_IN_DIGITS),
    "number": (re.compile(r"-?[0-9]+(?:\.[0-9]+)?"), NUMBER_IN_DIGITS),
}
"""How an integer and a number are written in a query: plain decimal digits."""


def _members(annotation: Any) -> tuple[Any, ...]:
    info = msgspec.inspect.type_info(annotation)
    return info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)


def kind_of(annotation: Any) -> Kind | None:
    """Whether a parameter of this type takes an integer, a number, or something else."""
    members = _members(annotation)
    if any(isinstance(member, msgspec.inspect.IntType) for member in members):
        return "integer"
    if any(isinstance(member, msgspec.inspect.FloatType) for member in members):
        return "number"
    return None


def _literal_values(annotation: Any) -> list[str] | None:
    """The values a parameter of this type may take, when they are listed in the type."""
    if annotation is None:
        return None
    for member in _members(annotation):
        if isinstance(member, msgspec.inspect.LiteralType):
            return [str(value) for value in member.values]
    return None


def value_problem(annotation: Any, message: str) -> str:
    """What is wrong with a value of type ``annotation``, in words: the allowed values where
    there are few, else msgspec's sentence ``message`` with its rule in words."""
    allowed = _literal_values(annotation)
    return one_of(allowed) if allowed is not None else in_words(message)


def _refuse_unless_written_right(name: str, value: str, kind: Kind | None) -> None:
    # Litestar converts leniently, and msgspec then reads "1e3" and "1.0" as integers, "nan"
    # and "inf" as numbers.
    if kind is None:
        return
    pattern, problem = _WRITTEN[kind]
    if not pattern.fullmatch(value):
        raise InputError(error(400, parameter_problem("query", name, problem)))


def plugin_filters(schema: StateSchema, request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The plugin-field filters of a ``GET /rockets`` request, converted to the fields' types.

    Raises:
        InputError: a filter's value is not printable text, or not of its field's type.
    """
    where: dict[str, Any] = {}
    for field in schema.plugin_fields:
        name = field.json_name
        raw = request.query_params.get(name)
        if raw is None:
            continue
        try:
            msgspec.convert(raw, Printable)
            _refuse_unless_written_right(name, raw, kind_of(field.type))
            where[name] = msgspec.convert(raw, field.type, strict=False)
        except msgspec.ValidationError as exc:
            problem = value_problem(field.type, str(exc))
            raise InputError(error(400, parameter_problem("query", name, problem))) from None
    return where


def _query_name(name: str, field: FieldDefinition, path_parameters: set[str]) -> str | None:
    """The name a handler's parameter ``name`` goes by in the query, None when Litestar takes
    it from elsewhere: the path, a header or a cookie, the request itself, a dependency."""
    if name in path_parameters or name in RESERVED_KWARGS:
        return None
    kwarg = field.kwarg_definition
    if isinstance(kwarg, ParameterKwarg):
        return (kwarg.name or name) if kwarg.param_type is ParamType.QUERY else None
    # Anything else declared (a body, a dependency) is not read from the query; an undeclared
    # parameter is, under its own name.
    return name if kwarg is None else None


def _meant(name: str, known: list[str]) -> str | None:
    """The known parameter ``name`` probably stands for: the same letters but for case and
    ``_`` (``last_site`` for ``lastSite``), else a close spelling."""

    def letters(text: str) -> str:
        return text.replace("_", "").lower()

    same = [k for k in known if letters(k) == letters(name)]
    close = difflib.get_close_matches(name, known, n=1)
    candidates = same or close
    return candidates[0] if candidates else None


class QueryRules:
    """What a read route takes in its query: the parameters of its handler's signature that
    Litestar reads from the query (under the names they are given there), those its
    ``opt["query"]`` adds (the plugins' fields of ``GET /rockets``, read by the handler itself)
    and ``access_token``; found once per route handler, from its parsed signature.

    A handler whose ``opt["strict_query"]`` is false (the dashboard's, for browsers that add
    what they like) has only its values' writing checked.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[list[str], dict[str, Kind | None]]] = {}

    def of(self, request: Request[Any, Any, Any]) -> tuple[list[str], dict[str, Kind | None]]:
        """The parameter names ``request``'s route takes, in order, and the kind of each."""
        handler = request.route_handler
        found = self._known.get(id(handler))
        if found is None:
            found = self._known[id(handler)] = self._find(handler, set(request.path_params))
        return found

    @staticmethod
    def _find(
        handler: HTTPRouteHandler, path_parameters: set[str]
    ) -> tuple[list[str], dict[str, Kind | None]]:
        kinds: dict[str, Kind | None] = {}
        for name, field in handler.parsed_fn_signature.parameters.items():
            in_query = _query_name(name, field, path_parameters)
            if in_query is not None:
                kinds[in_query] = kind_of(field.annotation)
        for name in handler.opt.get("query", ()):
            kinds.setdefault(name, None)
        kinds.setdefault(ACCESS_TOKEN, None)
        return list(kinds), kinds

    async def check(self, request: Request[Any, Any, Any]) -> None:
        """Refuse a query that names a parameter the route does not take, gives one twice, or
        writes an integer or a number otherwise than in digits (a ``before_request`` hook: it
        runs before Litestar converts the parameters).

        Raises:
            InputError: the first parameter found wrong, and why.
        """
        known, kinds = self.of(request)
        strict = request.route_handler.opt.get("strict_query", True)
        for name in request.query_params:
            if name not in kinds and strict:
                problem = unknown_parameter(known, _meant(name, known))
                raise InputError(error(400, parameter_problem("query", name, problem)))
            values = request.query_params.getall(name, ())
            if len(values) > 1 and strict:
                # Litestar would take the last one silently: which one was meant is a guess.
                problem = given_more_than_once(len(values))
                raise InputError(error(400, parameter_problem("query", name, problem)))
            for value in values:
                _refuse_unless_written_right(name, value, kinds.get(name))
