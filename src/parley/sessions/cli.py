"""`parley sessions export`: stored conversations (and their ratings) as training data."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from parley.cli_common import err_console, fail, settings_from

sessions_app = typer.Typer(help="Stored conversations.", no_args_is_help=True)


@sessions_app.command("export")
def export_sessions(
    ctx: typer.Context,
    export_format: Annotated[
        str,
        typer.Option(
            "--format", help="openai: chat JSONL for `parley finetune`; parley: whole sessions."
        ),
    ] = "openai",
    rated: Annotated[
        str | None,
        typer.Option(help="Only what was rated good (or bad): learn just those replies."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="Only this API key owner's sessions (default: all).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write the configured store's sessions as JSONL, one per line."""
    from parley.sessions import ANY_OWNER, SessionError, build_session_store
    from parley.sessions.export import iter_sessions, training_record

    if export_format not in ("openai", "parley"):
        fail(f"--format must be openai or parley, got {export_format!r}")
    if rated not in (None, "good", "bad"):
        fail(f"--rated must be good or bad, got {rated!r}")
    rating: Literal["good", "bad"] | None = rated  # type: ignore[assignment]
    settings = settings_from(ctx)
    try:
        store = build_session_store(settings.sessions, settings.data_dir)
    except (SessionError, OSError) as exc:
        fail(f"cannot open the session store: {exc}")
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    written = skipped = 0
    try:
        for session in iter_sessions(store, owner if owner is not None else ANY_OWNER):
            if export_format == "parley":
                if rating is not None and not any(
                    t.feedback and t.feedback.rating == rating for t in session.turns
                ):
                    skipped += 1
                    continue
                record = {"format": "parley.session.v1", **session.model_dump(mode="json")}
            else:
                maybe = training_record(session, rating)
                if maybe is None:
                    skipped += 1
                    continue
                record = maybe
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    except SessionError as exc:
        fail(f"session store error: {exc}")
    finally:
        store.close()
        if out:
            handle.close()
    why = f"rated {rating}" if rating else "with a reply to learn"
    err_console.print(
        f"exported {written} sessions; {skipped} had none {why}"
        if export_format == "openai" or rating
        else f"exported {written} sessions",
        highlight=False,
    )
