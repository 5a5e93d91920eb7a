"""What every `parley` sub-command shares: settings from the root `--config`, console, errors."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from parley.config import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def command_group(help: str, **options: Any) -> typer.Typer:
    """A Typer app for `parley` or one of its sub-commands, with plain (not Rich) help.

    Typer's Rich help prints every boolean flag as `--json <bool>` (and `--help <bool>`); the
    plain formatter shows `--json` and `--hybrid / --no-hybrid`, as they are typed.
    """
    options.setdefault("no_args_is_help", True)
    return typer.Typer(help=help, rich_markup_mode=None, **options)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `message` as an error on stderr and exit with `code`."""
    # The message is plain text: brackets in it ("[4]", a JSON line) are not Rich markup.
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context) -> Settings:
    """The settings chosen by the root command's `--config` (loaded once per invocation)."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    if "settings" not in obj:
        try:
            obj["settings"] = load_settings(obj.get("config_file"))
        except ConfigError as exc:
            fail(str(exc))
        root.obj = obj
    return obj["settings"]
