"""Tests for chromexpr.logs: the one adapter behind every ``log=`` argument."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from chromexpr.logs import get_logger, log_sink


def test_callable_gets_messages_and_warnings_prefixed() -> None:
    lines: list[str] = []
    say = get_logger(lines.append, "chromexpr.test")
    say.info("one")
    say("two")
    say.warning("three")
    assert lines == ["one", "two", "warning: three"]


def test_logger_and_default_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        get_logger(logging.getLogger("chromexpr.given"), "chromexpr.unused").info("to the given logger")
        get_logger(None, "chromexpr.default").warning("to the default logger")
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert records == [
        ("chromexpr.given", "INFO", "to the given logger"),
        ("chromexpr.default", "WARNING", "to the default logger"),
    ]


def test_log_sink_file_path_appends_time_stamped_lines(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "run.log"
    with log_sink(path, "chromexpr.test") as say:
        say("first")
    with log_sink(str(path), "chromexpr.test") as say:
        say.warning("second")
    lines = path.read_text().splitlines()
    assert [line[20:] for line in lines] == ["first", "warning: second"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*", line) for line in lines)


def test_bad_targets_are_type_errors() -> None:
    with pytest.raises(TypeError, match="a file path"), log_sink(42, "chromexpr.test"):  # type: ignore[arg-type]
        pass
    with pytest.raises(TypeError):
        get_logger(42, "chromexpr.test")  # type: ignore[arg-type]
