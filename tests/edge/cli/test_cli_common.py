"""The shared CLI pieces: install hints that name the right extra, one-line usage errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import tomllib

from edge.core.errors import EXTRA_OF, install_hint
from officescore.cli import app
from tests.helpers import REPO, runner

EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def distribution(requirement: str) -> str:
    return re.split(r"[<>=\[; ]", requirement, maxsplit=1)[0].lower().replace("-", "_")


# import names that are not their package's name
DISTRIBUTION_OF = {"yaml": "pyyaml", "PIL": "pillow"}


@pytest.mark.parametrize("module", sorted(EXTRA_OF))
def test_each_hint_names_an_extra_that_installs_the_package(module: str) -> None:
    extra = EXTRA_OF[module]
    assert install_hint(module) == f"pip install 'officescore[{extra}]'"
    package = DISTRIBUTION_OF.get(module, module)
    assert package in {distribution(r) for r in EXTRAS[extra]}, (module, EXTRAS[extra])


BLOCK_STREAMLIT = """
import sys
class Missing:
    def find_spec(self, name, path=None, target=None):
        if name == "streamlit" or name.startswith("streamlit."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Missing())
sys.argv = ["officescore", "web"]
from officescore.cli import main
main()
"""


def test_web_without_streamlit_names_the_web_extra() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_STREAMLIT], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: this command needs streamlit: pip install 'officescore[web]'"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["score"], "Missing argument"),
        (["score", "x.jpg", "--conf", "high"], "Invalid value for '--conf'"),
        (["live", "--no-such-flag"], "No such option: --no-such-flag"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "officescore", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line


@pytest.mark.parametrize("command", ["score", "live", "check", "bench", "evaluate", "web"])
def test_help_shows_flags_as_flags_and_explains_every_option(command: str) -> None:
    from officescore.cli import app
    from tests.helpers import runner

    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "<bool>" not in result.stdout
    options = [line for line in result.stdout.splitlines() if line.lstrip("│ ").startswith("--")]
    assert options and all(len(line.split(None, 2)) >= 3 for line in options), options
    if command == "bench":
        assert "Untimed runs first" in result.stdout and "Timed runs per row" in result.stdout


def test_the_model_commands_take_the_shared_options_from_one_declaration() -> None:
    """`ModelOptions` is the one place an option is declared; score, live and check show it."""
    import dataclasses

    from edge.cli.model_options import ModelOptions

    shared = {f"--{field.name}" for field in dataclasses.fields(ModelOptions)}
    left_out = {"check": {"--rubric"}, "score": set(), "live": set()}
    for command, missing in left_out.items():
        shown = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
        for option in shared - missing:
            assert f" {option} " in shown, (command, option)
        for option in missing:
            assert f" {option} " not in shown, (command, option)
    quick = ["--headless", "--no-realtime", "--max-frames", "2", "--imgsz", "320"]
    live = runner.invoke(
        app,
        ["live", "--source", "demo", *quick, "--conf", "0.9"],
    )
    assert live.exit_code == 0, live.stderr
    assert {json.loads(line)["model"] for line in live.stdout.splitlines()} == {
        "yolox-nano-coco@320"
    }
