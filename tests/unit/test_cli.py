"""The command line's refusals: one line on stderr, said by the command it was given to."""

from __future__ import annotations

import pytest

from rockets.cli import main


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
