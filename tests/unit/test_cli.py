"""The command line's refusals: one line on stderr, said by the command it was given to; and
how ``rockets serve`` builds the app."""

from __future__ import annotations

from typing import Any

import pytest

import rockets.app
from rockets.cli import main
from rockets.errors import SettingsError
from rockets.settings import Settings


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
