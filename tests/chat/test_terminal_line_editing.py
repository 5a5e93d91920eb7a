"""`parley chat` in a real terminal (tmux): line editing and history across runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARLEY = Path(sys.executable).parent / "parley"
FLAGS = "--no-retrieval --no-moderation --max-tokens 4 --temperature 0"

pytestmark = pytest.mark.slow


def chat_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    return env | {
        "PYTHONPATH": str(ROOT / "src"),
        "PARLEY_DATA_DIR": str(data_dir),
        "OMP_NUM_THREADS": "1",
        "TERM": "xterm-256color",
    }


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[..., Callable[..., str]]]:
    """`terminal(command)` starts it in a detached tmux pane; returns `screen()`."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    socket = f"parley-test-{uuid.uuid4().hex[:8]}"

    def tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, *args], capture_output=True, text=True, check=True
        )
        return done.stdout

    def start(command: str, env: dict[str, str]) -> Callable[..., str]:
        exports = " ".join(f"{k}={v!r}" for k, v in env.items() if k.startswith(("PARLEY_", "PY")))
        tmux("new-session", "-d", "-x", "160", "-y", "50", "-s", "chat", f"env {exports} {command}")

        def screen(*keys: str) -> str:
            if keys:
                tmux("send-keys", "-t", "chat", *keys)
            return tmux("capture-pane", "-p", "-t", "chat")

        def wait_closed(timeout: float = 30) -> None:
            deadline = time.monotonic() + timeout
            alive = ["tmux", "-L", socket, "has-session", "-t", "chat"]
            while subprocess.run(alive, capture_output=True).returncode == 0:
                assert time.monotonic() < deadline, "parley chat did not exit on Ctrl-D"
                time.sleep(0.1)

        screen.wait_closed = wait_closed  # type: ignore[attr-defined]
        return screen

    yield start
    subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)


def wait_for(screen: Callable[..., str], check: Callable[[str], bool], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = screen()
        if check(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the terminal never showed what was expected:\n{text}")
        time.sleep(0.2)


def at_prompt(count: int) -> Callable[[str], bool]:
    """The screen shows `count` prompts and waits at the last one, empty."""

    def check(text: str) -> bool:
        lines = [line.rstrip() for line in text.splitlines() if line.strip()]
        shown = [line for line in lines if line.startswith(">>>")]
        return len(shown) >= count and lines[-1] == ">>>"

    return check


def ends_with(line: str) -> Callable[[str], bool]:
    return lambda text: text.rstrip().endswith(line)


def test_arrows_edit_the_line_and_history_survives_a_restart(terminal, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = chat_env(data_dir)
    screen = terminal(f"{PARLEY} chat {FLAGS}", env)
    wait_for(screen, at_prompt(1))
    screen("hello there", "Enter")
    wait_for(screen, at_prompt(2))

    # Up recalls the last line (no "^[[A" goes to the model); arrows and Backspace edit it.
    screen("Up")
    text = wait_for(screen, ends_with(">>> hello there"))
    assert "^[[A" not in text
    screen(*["Left"] * 5, *["BSpace"] * 6)
    wait_for(screen, ends_with(">>> there"))
    screen("C-e", " again", "Enter")
    text = wait_for(screen, at_prompt(3))
    assert ">>> there again" in text
    screen("C-d")

    history = data_dir / "chat_history"
    deadline = time.monotonic() + 30
    while "there again" not in (history.read_text() if history.exists() else ""):
        assert time.monotonic() < deadline, "the history file was not written"
        time.sleep(0.1)
    assert oct(history.stat().st_mode & 0o777) == "0o600"  # what one typed is private
    screen.wait_closed()  # type: ignore[attr-defined]

    # A new chat finds the earlier lines with Up.
    again = terminal(f"{PARLEY} chat {FLAGS}", env)
    wait_for(again, at_prompt(1))
    again("Up")
    wait_for(again, ends_with(">>> there again"))
    again("Up")
    wait_for(again, ends_with(">>> hello there"))
    again("C-u", "C-d")
