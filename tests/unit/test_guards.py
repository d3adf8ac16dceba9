"""What contains plugin code at the edges of its reach: the time limit of the lifecycle hooks,
the budget of a call on the ingest path, the paths a plugin's route may not take and the tokens
its routes need (issue 21, findings 4 and 5)."""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from rockets.app import create_app
from rockets.cli import main
from rockets.errors import PluginError
from rockets.http.edge import RESERVED_PATHS
from rockets.settings import Settings

from ..conftest import ROOT, core_settings, message

PLUGINS = ROOT / "tests" / "plugins" / "guards"


def plugins_dir(tmp_path: Path, *names: str) -> str:
    """A drop-in directory holding the plugins of tests/plugins/guards named ``names``."""
    folder = tmp_path / "plugins"
    folder.mkdir(exist_ok=True)
    for name in names:
        shutil.copy(PLUGINS / f"{name}.py", folder / f"{name}.py")
    return str(folder)


class Told(logging.Handler):
    """The lines of one level the ``rockets`` loggers write while it is attached (whether or not
    the ``rockets`` logger passes them on to the root logger, as it does not once an app set
    its logging)."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == self.level:
            self.lines.append(record.getMessage())


@contextlib.contextmanager
def told(level: int) -> Iterator[list[str]]:
    handler = Told(level)
    logger = logging.getLogger("rockets")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


# --- the lifecycle hooks' time limit (finding 4) ---------------------------------------------


def test_a_startup_that_never_returns_stops_the_start_in_one_sentence(tmp_path: Path) -> None:
    settings = Settings(plugins_dir=plugins_dir(tmp_path, "stuck_startup"), hook_timeout=0.05)
    with pytest.raises(BaseExceptionGroup) as failure, TestClient(create_app(settings)):
        pass
    assert failure.group_contains(
        PluginError,
        match=r"^plugin 'stuck_startup': startup did not return within 0\.05 s "
        r"\(ROCKETS_HOOK_TIMEOUT\)$",
    )


def test_a_timeout_error_of_the_hooks_own_is_a_failure_like_any_other(tmp_path: Path) -> None:
    settings = Settings(plugins_dir=plugins_dir(tmp_path, "own_timeout"))
    with pytest.raises(BaseExceptionGroup) as failure, TestClient(create_app(settings)):
        pass
    assert failure.group_contains(
        PluginError,
        match=r"plugin 'own_timeout' failed in startup: "
        r"TimeoutError\('the weather service did not answer'\)",
    )


def test_a_shutdown_that_never_returns_is_told_and_the_service_still_stops(
    tmp_path: Path,
) -> None:
    folder = plugins_dir(tmp_path, "stuck_shutdown")
    shutil.copy(ROOT / "docs" / "examples" / "hooks" / "flight_log.py", folder)
    settings = Settings(plugins_dir=folder, hook_timeout=0.05)
    app = create_app(settings)
    with told(logging.ERROR) as errors, TestClient(app):
        pass
    assert (
        "plugin 'stuck_shutdown': shutdown did not return within 0.05 s (ROCKETS_HOOK_TIMEOUT); "
        "the other plugins' shutdown still runs"
    ) in errors
    import rockets_dropin_flight_log as flight_log  # type: ignore[import-not-found]

    assert flight_log.lifecycle[-1] == "stopped after 0 events"


# --- apply and the validators against their budget --------------------------------------------


def test_slow_calls_on_the_ingest_path_are_told_once_per_plugin_and_counted(
    tmp_path: Path,
) -> None:
    # A budget of a nanosecond: every call is over it, with no clock to wait for.
    settings = Settings(plugins_dir=plugins_dir(tmp_path, "pinged"), plugin_call_budget_ms=0.000001)
    with told(logging.WARNING) as warnings, TestClient(create_app(settings)) as client:
        for number in (1, 2, 3):
            ping = message("p", number, "RocketPinged", {"level": number})
            assert client.post("/messages", json=ping).status_code == 202
        metrics = client.get("/metrics").text
    assert 'rockets_plugin_slow_calls_total{call="apply",plugin="pinged"} 3.0' in metrics
    assert 'rockets_plugin_slow_calls_total{call="validate_message",plugin="pinged"} 3.0' in metrics
    (line,) = [line for line in warnings if "'pinged'" in line]
    assert line.startswith("plugin 'pinged' is slow: its validate_message of a RocketPinged took")
    assert "over the budget of 1e-06 ms (ROCKETS_PLUGIN_CALL_BUDGET_MS)" in line


def test_calls_within_the_budget_are_not_told(tmp_path: Path) -> None:
    settings = Settings(plugins_dir=plugins_dir(tmp_path, "pinged"), plugin_call_budget_ms=60_000)
    with TestClient(create_app(settings)) as client:
        ping = message("p", 1, "RocketPinged", {"level": 1})
        assert client.post("/messages", json=ping).status_code == 202
        metrics = client.get("/metrics").text
    assert "# TYPE rockets_plugin_slow_calls_total counter" in metrics
    assert "rockets_plugin_slow_calls_total{" not in metrics


# --- reserved paths and the tokens of plugins' routes (finding 5) ------------------------------

SQUATTER = """
from litestar import Router, get
from rockets import hookimpl


@get({path!r})
async def mine() -> str:
    return "mine"


@hookimpl
def register_routes(view):
    return [{route}]
"""


@pytest.mark.parametrize(
    ("path", "route", "taken", "why"),
    [
        ("/dashboard/notes", "mine", "/dashboard/notes", "rockets keeps '/dashboard'"),
        ("/notes", "Router(path='/dashboard', route_handlers=[mine])", "/dashboard/notes", None),
        ("/", "mine", "/", "'/' is the dashboard's page"),
        ("/health", "mine", "/health", "rockets keeps '/health'"),
        ("/rockets/{channel:str}/notes", "mine", "/rockets/{channel:str}/notes", None),
        ("/schema/assets/mine.js", "mine", "/schema/assets/mine.js", None),
        ("/stalled", "mine", "/stalled", None),
        ("/{page:str}", "mine", "/{page:str}", "it starts with a path parameter"),
    ],
)
def test_a_plugin_route_at_a_reserved_path_stops_the_start_in_one_line(
    tmp_path: Path, path: str, route: str, taken: str, why: str | None
) -> None:
    (tmp_path / "squatter.py").write_text(SQUATTER.format(path=path, route=route))
    with pytest.raises(PluginError) as refused:
        create_app(core_settings(plugins_dir=str(tmp_path)))
    said = str(refused.value)
    assert "\n" not in said
    assert said.startswith(f"plugin 'squatter': route {taken!r} is at a reserved path: ")
    assert why is None or why in said


def test_rockets_serve_refuses_a_reserved_route_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "squatter.py").write_text(SQUATTER.format(path="/dashboard/notes", route="mine"))
    monkeypatch.setenv("ROCKETS_PLUGINS_DIR", str(tmp_path))
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "rockets: cannot start: plugin 'squatter': route '/dashboard/notes' is at a reserved "
        "path: rockets keeps '/dashboard' and every path under it for its own routes "
        "(docs/plugin_hooks.md, register_routes)\n"
    )


def test_paths_near_the_reserved_ones_are_a_plugins_to_take(tmp_path: Path) -> None:
    for name, path in (("a", "/healthz"), ("b", "/dashboards/mine"), ("c", "/rocket")):
        (tmp_path / f"{name}.py").write_text(
            SQUATTER.format(path=path, route="mine").replace("async def mine", f"async def {name}")
        )
        (tmp_path / f"{name}.py").write_text(
            (tmp_path / f"{name}.py").read_text().replace("[mine]", f"[{name}]")
        )
    with TestClient(create_app(core_settings(plugins_dir=str(tmp_path)))) as client:
        assert client.get("/healthz").text == "mine"
        assert client.get("/dashboards/mine").text == "mine"


def first_segment(path: str) -> str:
    return "/" + path.lstrip("/").partition("/")[0]


def test_every_built_in_route_is_under_a_reserved_path() -> None:
    app: Litestar = create_app(core_settings())
    built_in = {route.path for route in app.routes}
    assert "/" in built_in
    assert {first_segment(path) for path in built_in - {"/"}} <= set(RESERVED_PATHS)


TOKENS = {"read_token": "reader", "ingest_token": "writer"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_plugins_routes_need_the_tokens_unless_declared_public(tmp_path: Path) -> None:
    settings = core_settings(plugins_dir=plugins_dir(tmp_path, "notes"), **TOKENS)
    with TestClient(create_app(settings)) as client:
        # Reads need the read token (or the ingest token), as the built-in reads do.
        assert client.get("/fleet-notes").status_code == 401
        assert client.get("/fleet-notes", headers=bearer("reader")).status_code == 200
        assert client.get("/fleet-notes", headers=bearer("writer")).status_code == 200
        # Writes need the ingest token.
        assert client.post("/fleet-notes", json="hi", headers=bearer("reader")).status_code == 401
        assert client.post("/fleet-notes", json="hi", headers=bearer("writer")).status_code == 201
        # Declared public: a route, or every route of a router.
        assert client.get("/fleet-status").text == "all good"
        assert client.get("/open-area/anything").text == "anything"
        # The dashboard's own files stay open; nothing of a plugin's can be among them.
        assert client.get("/dashboard/app.js").status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/rockets").status_code == 401


# --- a hook without @hookimpl (the warning plugin_hooks.md shows) ----------------------------


def test_a_hook_without_hookimpl_is_the_warning_the_docs_show_and_no_hook_in_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plugins").mkdir()
    shutil.copy(PLUGINS / "unmarked.py", tmp_path / "plugins" / "landing.py")
    app = create_app(core_settings(plugins_dir="plugins"))
    with told(logging.WARNING) as warnings, TestClient(app) as client:
        (line,) = [line for line in warnings if "@hookimpl" in line]
        plugins: list[dict[str, Any]] = client.get("/plugins").json()["plugins"]
    docs = (ROOT / "docs" / "plugin_hooks.md").read_text()
    assert f"WARNING:  {line}\n" in docs
    (landing,) = [p for p in plugins if p["name"] == "landing"]
    assert landing["hooks"] == []
