"""The command line's refusals: one line on stderr, said by the command it was given to, under
``rockets`` and ``litestar rockets`` alike; how ``rockets serve`` builds the app; what a start
that fails does."""

from __future__ import annotations

from typing import Any, NoReturn

import click
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

import rockets.app
from rockets.app import create_app
from rockets.cli import main
from rockets.errors import RocketsError, SettingsError, StoreError
from rockets.litestar_cli import RocketsCLIPlugin, app_from_env
from rockets.settings import Settings
from rockets.stores import MemoryStore


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["serve", "--bogus"], "rockets serve: unrecognized arguments: --bogus"),
        (["launch", "http://x", "--nope", "1"], "rockets launch: unrecognized arguments: --nope 1"),
        (["rebuild", "extra"], "rockets rebuild: unrecognized arguments: extra"),
        (["serve", "--port", "0"], "rockets serve: argument --port: must be between 1 and 65535"),
    ],
)
def test_a_wrong_command_line_is_one_line_and_exit_status_2(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    command = " ".join(["rockets", argv[0]])
    (said,) = capsys.readouterr().err.splitlines()
    assert said.startswith(line), said
    assert said.endswith(f"(see {command} --help)"), said


def test_serve_asks_for_the_servers_deadline_when_it_builds_the_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rockets serve's protocol keeps the request deadline: the app is built to leave it to the
    # server, and nothing is changed on it afterwards.
    asked: list[dict[str, Any]] = []

    def create_app(settings: Settings, **options: Any) -> None:
        asked.append(options)
        raise SettingsError("stopped here")

    monkeypatch.setattr(rockets.app, "create_app", create_app)
    assert main(["serve"]) == 2
    assert asked == [{"deadlines": "server"}]
    assert capsys.readouterr().err == "rockets: cannot start: stopped here\n"


# --- under Litestar's CLI -------------------------------------------------------------------


def litestar_cli() -> click.Group:
    """A command group as Litestar's CLI hands it to the app's CLI plugin."""
    group = click.Group("litestar")
    RocketsCLIPlugin().on_cli_init(group)
    return group


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["launch", "--bogus"], "litestar rockets launch: the following arguments are required"),
        (["launch", "http://x", "--nope"], "litestar rockets launch: unrecognized arguments"),
        (["rebuild", "extra"], "litestar rockets rebuild: unrecognized arguments: extra"),
    ],
)
def test_litestar_rockets_refuses_as_the_rockets_command_does(argv: list[str], line: str) -> None:
    result = CliRunner().invoke(litestar_cli(), ["rockets", *argv])
    assert result.exit_code == 2
    (said,) = result.stderr.splitlines()
    assert said.startswith(line), said
    assert said.endswith(f"(see litestar rockets {argv[0]} --help)"), said


def test_litestar_rockets_runs_the_rockets_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROCKETS_STORE", "memory://")
    result = CliRunner().invoke(litestar_cli(), ["rockets", "rebuild"])
    assert (result.exit_code, result.stdout) == (
        0,
        "nothing to rebuild: the memory store rebuilds every state when it starts\n",
    )
    helped = CliRunner().invoke(litestar_cli(), ["rockets", "launch", "--help"])
    assert helped.exit_code == 0
    assert helped.stdout.startswith("usage: litestar rockets launch [-h]")


class Unopenable(MemoryStore):
    async def open(self, *args: Any, **kwargs: Any) -> int:
        raise StoreError("the disk is gone")


class EndedError(Exception):
    """What the test's own ``on_start_failure`` raises instead of ending the process."""


def test_a_start_that_fails_raises_unless_the_app_is_told_what_to_do() -> None:
    app = create_app(Settings(), store=Unopenable())
    with pytest.raises(BaseExceptionGroup) as failure, TestClient(app):
        pass
    assert failure.group_contains(StoreError, match="the disk is gone")
    app = create_app(Settings(), store=Unopenable())
    told: list[RocketsError] = []

    def end(exc: RocketsError) -> NoReturn:
        told.append(exc)
        raise EndedError

    app.on_start_failure = end
    with pytest.raises(BaseExceptionGroup) as ended, TestClient(app):
        pass
    assert ended.group_contains(EndedError)
    assert [str(exc) for exc in told] == ["the disk is gone"]


def test_app_from_env_refuses_a_wrong_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROCKETS_WORKER_COUNT", "abc")
    with pytest.raises(SystemExit) as stopped:
        app_from_env()
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "rockets: cannot start: invalid setting ROCKETS_WORKER_COUNT='abc': Expected an "
        "integer, got text\n"
    )
