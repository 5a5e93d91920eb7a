import io
import os
import shutil
import subprocess
import sys

import pytest
from rich.console import Console

from parley.chat.terminal import TerminalChat, parse_assignments
from parley.engines.formats import OpenChatKitFormat
from parley.engines.params import GenerationParams
from parley.moderation.policy import Policy
from parley.moderation.settings import ModerationSettings
from parley.service import ChatService
from parley.wiring import PolicyModeration


def make_chat(engine, inputs=(), moderator=None):
    lines = iter(inputs)

    def read_line(_prompt: str) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    out = io.StringIO()
    console = Console(file=out, width=120, highlight=False)
    moderation = None
    if moderator is not None:
        moderation = PolicyModeration(moderator, Policy(ModerationSettings()), None)
    service = ChatService(engine, OpenChatKitFormat(), None, moderation=moderation)
    return TerminalChat(service, console=console, out=out, read_line=read_line), out


def test_conversation_turns_feed_the_next_prompt(fake_engine):
    fake_engine.queue(" Hello", " there!")
    fake_engine.queue(" Fine.", "\n<human>: x")
    chat, out = make_chat(fake_engine, ["Hi", "How are you?"])
    chat.run()
    assert "Hello there!" in out.getvalue()
    assert (
        "<human>: Hi\n<bot>: Hello there!\n<human>: How are you?\n<bot>:" in fake_engine.prompts[1]
    )
    assert [t.text for t in chat.conversation.turns] == [
        "Hi",
        "Hello there!",
        "How are you?",
        "Fine.",
    ]


def test_reset_forgets_the_conversation(fake_engine):
    fake_engine.queue("A")
    fake_engine.queue("B")
    chat, _ = make_chat(fake_engine, ["one", "/reset", "two"])
    chat.run()
    assert "one" not in fake_engine.prompts[1]


def test_hyperparameters_show_set_and_reject(fake_engine):
    chat, out = make_chat(fake_engine)
    chat.handle("/hyperparameters temperature=0.2 top_k=5 stop=END,STOP")
    assert chat.conversation.params.temperature == 0.2
    assert chat.conversation.params.stop == ["END", "STOP"]
    assert "top_k" in out.getvalue()
    chat.handle("/hyperparameters top_p=3")
    assert "top_p: Input should be less than or equal to 1 (got '3')" in out.getvalue()
    assert chat.conversation.params.top_p == 1.0
    chat.handle("/hyperparameters tempreature=1")
    assert "unknown parameter 'tempreature'" in out.getvalue()


def test_raw_prompt_and_raw_say(fake_engine):
    fake_engine.queue("reply")
    fake_engine.queue(" raw", " output")
    chat, out = make_chat(fake_engine)
    chat.handle("/raw_prompt")
    assert "(no prompt yet)" in out.getvalue()
    chat.handle("question")
    chat.handle("/raw_prompt")
    assert "<human>: question\n<bot>:" in out.getvalue()
    chat.handle("/raw_say Once upon a time")
    assert fake_engine.prompts[-1] == "Once upon a time"
    assert "raw output" in out.getvalue()
    assert len(chat.conversation.turns) == 2  # raw_say does not join the conversation


def test_help_unknown_and_quit(fake_engine):
    chat, out = make_chat(fake_engine)
    assert chat.handle("/help")
    assert "/hyperparameters" in out.getvalue()
    assert chat.handle("/bogus")
    assert "unknown command /bogus" in out.getvalue()
    assert chat.handle("/quit") is False


def test_unfinished_reply_is_marked(fake_engine):
    fake_engine.queue("a", " b", " c")
    chat, out = make_chat(fake_engine)
    chat.conversation.params = GenerationParams(max_new_tokens=2)
    chat.handle("go")
    assert "[unfinished: reached max_new_tokens]" in out.getvalue()


def test_ctrl_c_stops_the_reply_not_the_program(fake_engine):
    fake_engine.queue("one", " two", " three", " four")
    fake_engine.queue("next")

    class InterruptingOut(io.StringIO):
        def write(self, text: str) -> int:
            if "two" in text:
                raise KeyboardInterrupt
            return super().write(text)

    chat, _ = make_chat(fake_engine, ["story", "again"])
    chat.out = InterruptingOut()
    chat.run()
    assert chat.conversation.turns[1].text == "one two"
    assert chat.conversation.turns[-1].text == "next"
    assert fake_engine.closed_early == 1


def test_harmful_message_gets_the_refusal_and_never_reaches_the_model(
    fake_engine, shipped_moderator
):
    fake_engine.queue("never used")
    chat, out = make_chat(fake_engine, moderator=shipped_moderator)
    chat.handle("How do I make a pipe bomb to hurt my classmates?")
    assert fake_engine.prompts == []
    assert "Unfortunately I am unable to" in out.getvalue()
    assert "[moderation: needs intervention]" in out.getvalue()
    assert chat.conversation.turns[1].text.startswith("Unfortunately")


def test_harmful_reply_is_cut_before_it_shows(fake_engine, shipped_moderator):
    fake_engine.queue(" Sure thing.", " You should kill yourself, nobody would miss you.", " More.")
    chat, out = make_chat(fake_engine, moderator=shipped_moderator)
    chat.handle("Cheer me up")
    text = out.getvalue()
    assert "Sure thing." in text and "withdrawn by moderation" in text
    assert "nobody would miss you" not in text
    assert "nobody would miss you" not in chat.conversation.turns[1].text


def test_parse_assignments_needs_name_value():
    with pytest.raises(ValueError, match="expected name=value"):
        parse_assignments(["temperature"], GenerationParams())
    assert parse_assignments(["seed=none"], GenerationParams(seed=3)).seed is None


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch, shipped_moderator, moderation_data_dir):
    # The chat moderates by default: each CLI run starts from the session's trained head
    # instead of training its own (~10 s).
    data_dir = tmp_path / "data"
    shutil.copytree(moderation_data_dir / "moderation", data_dir / "moderation")
    monkeypatch.setenv("PARLEY_TEST_DATA_DIR", str(data_dir))


def run_cli(
    *args: str, input_text: str | None = None, data_dir: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env["PARLEY_DATA_DIR"] = data_dir or os.environ["PARLEY_TEST_DATA_DIR"]
    return subprocess.run(
        [sys.executable, "-m", "parley.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        input=input_text,
    )


def test_one_shot_chat_on_the_embedded_default():
    done = run_cli(
        "chat", "-m", "What is the capital of France?", "--temperature", "0", "--no-retrieval"
    )
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout


def test_one_shot_chat_cites_the_default_knowledge_base(default_kb_data_dir):
    done = run_cli(
        "chat",
        "-m",
        "Who painted the Mona Lisa?",
        "--temperature",
        "0",
        "--max-tokens",
        "48",
        data_dir=str(default_kb_data_dir),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "Mona Lisa — https://en.wikipedia.org/wiki/Mona_Lisa" in done.stderr


def test_one_shot_chat_reads_stdin_without_streaming():
    done = run_cli(
        "chat", "-m", "-", "--no-stream", "--no-retrieval", "--temperature", "0", input_text="Hi!\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_interactive_chat_over_a_pipe():
    done = run_cli(
        "chat",
        "--no-retrieval",
        "--temperature",
        "0",
        "--max-tokens",
        "16",
        input_text="What is the capital of France?\n/hyperparameters\n/quit\n",
    )
    assert done.returncode == 0, done.stderr
    assert "Paris" in done.stdout
    assert "max_new_tokens" in done.stdout


def test_cli_errors_are_clear():
    done = run_cli("chat", "-m", "hi", "--temperature", "-1")
    assert done.returncode == 2
    assert "generation.temperature" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("chat", "-m", "hi", "--model", "/nowhere/model.gguf")
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    done = run_cli("chat", "-m", "hi", "--no-retrieval", "--engine", "llama.cpp", "--format", "x")
    assert done.returncode == 2
    assert "format" in done.stderr


def test_config_show_prints_the_effective_config(tmp_path):
    config = tmp_path / "p.toml"
    config.write_text("[generation]\ntop_k = 3\n")
    done = run_cli("--config", str(config), "config", "show")
    assert done.returncode == 0, done.stderr
    assert "top_k = 3" in done.stdout
    config.write_text("[generation]\ntop_k = -3\n")
    done = run_cli("--config", str(config), "config", "show")
    assert done.returncode == 2
    assert "generation.top_k" in done.stderr
