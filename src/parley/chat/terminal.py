"""The interactive terminal chat, in the spirit of OpenChatKit's `bot.py`.

Each message goes through the same pipeline as the server's (`ChatService.stream`: input
moderation, retrieval, domain guard, generation, output moderation), with the conversation
kept here and sent as the history, so nothing is stored."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, assert_never

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parley.chat.conversation import Conversation
from parley.engines.base import EngineError
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams, describe_params_error
from parley.service import (
    ChatReply,
    ChatRequest,
    ChatService,
    Delta,
    Finished,
    Replaced,
    ServiceError,
    Started,
)

HELP = """\
Type a message and press Enter. Commands:
  /help                          this help
  /reset                         forget the conversation
  /hyperparameters [k=v ...]     show or set generation parameters (e.g. temperature=0.2)
  /raw_prompt                    show the last prompt sent to the model
  /raw_say TEXT                  send TEXT to the model as the whole prompt, unformatted
  /quit                          leave (also Ctrl-D)
Ctrl-C stops the reply being written."""


def line_reader(history_file: Path) -> Callable[[str], str]:
    """How the chat reads a line: with editing and history (kept in `history_file`) on a
    terminal, plain `input` when stdin is a pipe or a file."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return input
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    history_file.parent.mkdir(parents=True, exist_ok=True)
    # What one types to a chat is private: the history file is the user's alone.
    os.close(os.open(history_file, os.O_CREAT | os.O_APPEND, 0o600))
    session: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)))
    return session.prompt


def parse_assignments(args: list[str], params: GenerationParams) -> GenerationParams:
    """Apply `name=value` pairs to `params`, validated (raises ValueError with the reason)."""
    values = params.model_dump()
    for arg in args:
        name, sep, raw = arg.partition("=")
        if not sep or not name:
            raise ValueError(f"expected name=value, got {arg!r}")
        name = name.strip().replace("-", "_")
        if name not in values:
            known = ", ".join(GenerationParams.model_fields)
            raise ValueError(f"unknown parameter {name!r}; known ones are {known}")
        raw = raw.strip()
        if name == "stop":
            values[name] = [s for s in raw.split(",") if s] if raw else []
        elif raw.lower() in {"none", "null", ""} and name in {"seed", "do_sample"}:
            values[name] = None
        else:
            values[name] = raw
    try:
        return GenerationParams.model_validate(values)
    except ValidationError as exc:
        raise ValueError(describe_params_error(exc)) from None


class TerminalChat:
    """Reads messages and commands, streams replies, keeps the conversation."""

    def __init__(
        self,
        service: ChatService,
        conversation: Conversation | None = None,
        *,
        stream: bool = True,
        console: Console | None = None,
        out: TextIO | None = None,
        read_line: Callable[[str], str] = input,
    ) -> None:
        self.service = service
        self.conversation = conversation or Conversation(service.default_params)
        self.stream = stream
        self.console = console or Console(highlight=False)
        self.out = out or sys.stdout
        self.read_line = read_line

    def run(self) -> None:
        """The read-reply loop, until /quit or end of input."""
        engine = self.service.engine
        self.console.print(
            f"[bold]Parley[/] — {engine.source.spec} on {engine.name}. "
            "/help for commands, /quit to leave."
        )
        while True:
            try:
                line = self.read_line(">>> ")
            except EOFError:
                self.console.print()
                return
            except KeyboardInterrupt:
                self.console.print("\n[dim](Ctrl-C stops a reply; /quit or Ctrl-D leaves)[/]")
                continue
            if not self.handle(line):
                return

    def handle(self, line: str) -> bool:
        """Act on one input line; False means quit."""
        text = line.strip()
        if not text:
            return True
        if text.startswith("/"):
            return self._command(text)
        self._answer(text)
        return True

    def _command(self, text: str) -> bool:
        name, _, rest = text.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        if name == "/help":
            self.console.print(HELP, markup=False)
        elif name == "/reset":
            self.conversation.reset()
            self.console.print("[dim]conversation cleared[/]")
        elif name == "/hyperparameters":
            self._hyperparameters(rest)
        elif name == "/raw_prompt":
            prompt = self.conversation.last_prompt
            self.console.print(prompt if prompt else "(no prompt yet)", markup=False)
        elif name == "/raw_say":
            if not rest.strip():
                self.console.print("[red]usage:[/] /raw_say TEXT")
            else:
                self._raw_say(rest)
        else:
            self.console.print(f"[red]unknown command {name}[/]; /help lists them", markup=True)
        return True

    def _hyperparameters(self, rest: str) -> None:
        if rest.strip():
            try:
                args = shlex.split(rest)
                self.conversation.params = parse_assignments(args, self.conversation.params)
            except ValueError as exc:
                self.console.print(f"[red]error:[/] {exc}")
                return
        table = Table("parameter", "value", box=None)
        for name, value in self.conversation.params.model_dump().items():
            table.add_row(name, repr(value))
        self.console.print(table)

    def _answer(self, message: str) -> None:
        request = ChatRequest(
            message, self.conversation.params, history=list(self.conversation.turns)
        )
        events = self.service.stream(request)
        shown: list[str] = []
        sources: list[dict[str, Any]] = []
        reply: ChatReply | None = None
        try:
            for event in events:
                match event:
                    case Started():
                        sources = event.sources
                    case Delta(text=text):
                        shown.append(text)
                        self._write(text)
                    case Replaced(text=text):
                        shown = [text]
                        self._withdraw(text)
                    case Finished():
                        reply = event.reply
                    case _:
                        assert_never(event)
        except KeyboardInterrupt:
            events.close()  # stops generation
        except ServiceError as exc:
            self.out.write("\n")
            self.console.print(f"[red]error:[/] {exc}")
            return
        if not self.stream and reply is not None:
            self.out.write(reply.text)
        self.out.write("\n")
        self.out.flush()
        self.conversation.last_prompt = reply.prompt if reply else None
        self.conversation.record(message, reply.text if reply else "".join(shown).strip())
        self._show_outcome(reply)
        if reply is not None and reply.finish_reason not in ("moderation", "off_topic"):
            self._show_sources(reply.sources or sources)

    def _write(self, text: str) -> None:
        if self.stream:
            self.out.write(text)
            self.out.flush()

    def _withdraw(self, refusal: str) -> None:
        if self.stream:
            self.out.write("\n")
            self.console.print("[yellow]\\[the reply above was withdrawn by moderation][/]")
            self.out.write(refusal)

    def _show_outcome(self, reply: ChatReply | None) -> None:
        if reply is None:
            self.console.print("[dim]\\[stopped][/]")
        elif reply.finish_reason == "length":
            self.console.print("[dim]\\[unfinished: reached max_new_tokens][/]")
        elif reply.finish_reason == "moderation":
            self.console.print(f"[dim]\\[moderation: {escape(_blocked_label(reply))}][/]")
        elif reply.finish_reason == "off_topic":
            self.console.print("[dim]\\[off topic][/]")

    def _show_sources(self, sources: list[dict[str, Any]]) -> None:
        if not sources:
            return
        self.console.print("[dim]Sources:[/]")
        for number, source in enumerate(sources, 1):
            where = f" — {source['uri']}" if source.get("uri") else ""
            self.console.print(f"[dim]  \\[{number}] {escape(source['title'])}{escape(where)}[/]")

    def _raw_say(self, prompt: str) -> None:
        engine, params = self.service.engine, self.conversation.params
        self.conversation.last_prompt = prompt
        generation = Generation(engine, prompt, params)
        try:
            for piece in generation:
                self._write(piece)
            if not self.stream:
                self.out.write(generation.text)
        except KeyboardInterrupt:
            generation.close()
        except EngineError as exc:
            self.console.print(f"\n[red]error:[/] {exc}")
            return
        self.out.write("\n")


def _blocked_label(reply: ChatReply) -> str:
    verdict = reply.moderation.output or reply.moderation.input
    return verdict.label or "blocked"
