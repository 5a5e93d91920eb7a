"""The interactive terminal chat, in the spirit of OpenChatKit's `bot.py`."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from typing import Any, TextIO

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from parley.chat.conversation import Conversation
from parley.engines.base import EngineError
from parley.engines.formats import PromptTooLong
from parley.engines.generation import Generation
from parley.engines.params import GenerationParams, describe_params_error
from parley.service import RetrievalStage

HELP = """\
Type a message and press Enter. Commands:
  /help                          this help
  /reset                         forget the conversation
  /hyperparameters [k=v ...]     show or set generation parameters (e.g. temperature=0.2)
  /raw_prompt                    show the last prompt sent to the model
  /raw_say TEXT                  send TEXT to the model as the whole prompt, unformatted
  /quit                          leave (also Ctrl-D)
Ctrl-C stops the reply being written."""


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
        conversation: Conversation,
        *,
        stream: bool = True,
        console: Console | None = None,
        out: TextIO | None = None,
        read_line: Callable[[str], str] = input,
        retrieval: RetrievalStage | None = None,
    ) -> None:
        self.conversation = conversation
        self.retrieval = retrieval
        """Grounds answers in the knowledge base; its sources are listed under each reply."""
        self.stream = stream
        self.console = console or Console(highlight=False)
        self.out = out or sys.stdout
        self.read_line = read_line

    def run(self) -> None:
        """The read-reply loop, until /quit or end of input."""
        self.console.print(
            f"[bold]Parley[/] — {self.conversation.engine.source.spec} on "
            f"{self.conversation.engine.name}. /help for commands, /quit to leave."
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
        context, passages = None, []
        if self.retrieval is not None:
            count = self.conversation.engine.count_tokens
            context, passages = self.retrieval.retrieve(message, count)
        try:
            generation = self.conversation.reply(message, context)
        except (PromptTooLong, ValueError) as exc:
            self.console.print(f"[red]error:[/] {exc}")
            return
        if self._show(generation):
            self.conversation.record(message, generation)
            self._show_sources([p.source_dict() for p in passages])

    def _show_sources(self, sources: list[dict[str, Any]]) -> None:
        if not sources:
            return
        self.console.print("[dim]Sources:[/]")
        for number, source in enumerate(sources, 1):
            where = f" — {source['uri']}" if source.get("uri") else ""
            self.console.print(f"[dim]  \\[{number}] {escape(source['title'])}{escape(where)}[/]")

    def _raw_say(self, prompt: str) -> None:
        engine, params = self.conversation.engine, self.conversation.params
        self.conversation.last_prompt = prompt
        self._show(Generation(engine, prompt, params))

    def _show(self, generation: Generation) -> bool:
        """Print the reply (streamed or whole); False when it failed."""
        try:
            if self.stream:
                for piece in generation:
                    self.out.write(piece)
                    self.out.flush()
            else:
                self.out.write(generation.result())
        except KeyboardInterrupt:
            generation.close()
        except EngineError as exc:
            self.out.write("\n")
            self.console.print(f"[red]error:[/] {exc}")
            return False
        self.out.write("\n")
        self.out.flush()
        if generation.finish_reason == "cancelled":
            self.console.print("[dim]\\[stopped][/]")
        elif generation.unfinished:
            self.console.print("[dim]\\[unfinished: reached max_new_tokens][/]")
        return True
