"""`parley moderation prepare|train|eval|cues` and `parley moderate` (mounted by `parley.cli`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from parley.cli_common import command_group, console, fail, settings_from
from parley.moderation.classifier import heads_dir
from parley.moderation.data import (
    DEFAULT_DEV_FRACTION,
    DEFAULT_SEED,
    SHIPPED_PARTS,
    DataError,
    Example,
    load_examples,
    load_shipped,
    split,
)
from parley.moderation.evaluation import EVAL_PARTS, TARGETS, evaluate, meets
from parley.moderation.factory import build_moderator
from parley.moderation.labels import SEVERITY_ORDER, Label
from parley.moderation.metrics import EvalReport
from parley.moderation.policy import Policy
from parley.moderation.settings import ModerationSettings

moderation_app = command_group("Train and evaluate the moderation classifier.")

ModeratorKind = Literal["classifier", "llm", "none"]


def _settings(
    ctx: typer.Context, moderator: str | None = None, threshold: float | None = None
) -> tuple[ModerationSettings, Path]:
    settings = settings_from(ctx)
    updates: dict[str, object] = {}
    if moderator is not None:
        updates["moderator"] = moderator
    if threshold is not None:
        updates["intervention_threshold"] = threshold
    try:
        moderation = ModerationSettings.model_validate(settings.moderation.model_dump() | updates)
    except ValidationError as exc:
        flags = {"moderator": "--moderator", "intervention_threshold": "--threshold"}
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{flags.get(where, where)}: {message} (got {error.get('input')!r})")
        fail("; ".join(problems))
    return moderation, settings.data_dir


def _load(path: Path) -> list[Example]:
    """A JSONL file, or a part of Parley's own set by name (`SHIPPED_PARTS`)."""
    try:
        if not path.exists() and str(path) in SHIPPED_PARTS:
            return load_shipped(str(path))
        return load_examples(path)
    except DataError as exc:
        fail(str(exc))


@moderation_app.command()
def prepare(ctx: typer.Context) -> None:
    """Build the configured moderator now: tune its encoder and train its head where they are
    not cached yet (the set-up runs this, so the first server start does not)."""
    moderation, data_dir = _settings(ctx)
    try:
        build_moderator(moderation, data_dir)
    except (DataError, ValueError) as exc:  # a configured data file that cannot train
        fail(str(exc))
    console.print(f"moderator ready: {moderation.moderator}", highlight=False)


@moderation_app.command()
def train(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(help="Labelled JSONL: one {text, label} per line.")],
    dev: Annotated[
        Path | None,
        typer.Option(help="Held-out labelled JSONL to score the head on (default: split DATA)."),
    ] = None,
    dev_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="Part of DATA held out when --dev is not given.")
    ] = DEFAULT_DEV_FRACTION,
    seed: int = DEFAULT_SEED,
) -> None:
    """Train a classifier head on DATA (stratified train/dev split, or --dev) and cache it."""
    from parley.moderation.classifier import tuned_embedder
    from parley.moderation.training import train_and_save
    from parley.registry import Shared
    from parley.retrieval.embedder import Embedder

    moderation, data_dir = _settings(ctx)
    if dev is None:
        train_part, dev_part = split(_load(data), dev_fraction, seed)
    else:
        train_part, dev_part = _load(data), _load(dev)
    if len({e.label for e in train_part}) < 2:
        fail(f"{data}: training needs examples of at least two labels")
    if moderation.tune_encoder:
        embedder = tuned_embedder(moderation, Shared(data_dir=data_dir), train_part)
    else:
        embedder = Embedder(moderation.embedder)
    folder, manifest = train_and_save(
        train_part, dev_part, embedder, heads_dir(data_dir), seed=seed, source=str(data)
    )
    console.print(
        f"head saved in {folder} ({manifest['n_train']} train, {manifest['n_dev']} dev)",
        highlight=False,
        soft_wrap=True,
    )
    metrics = manifest["dev_metrics"]
    if metrics:
        console.print(
            f"dev: accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}, "
            f"needs-intervention recall {_fmt(metrics['intervention_recall'])}, "
            f"casual false blocks {_fmt(metrics['casual_false_block_rate'])}"
        )
    setting = f"training_data = {str(data.resolve())!r}"
    if dev is not None:
        setting += f", dev_data = {str(dev.resolve())!r}"
    console.print(
        f"to use it, set [moderation] {setting} in parley.toml",
        markup=False,
        highlight=False,
    )


@moderation_app.command("eval")
def eval_command(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Argument(
            help="Labelled JSONL: one {text, label} per line; or a part of Parley's own set: "
            f"{', '.join(EVAL_PARTS)}; or all: every one of those."
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    moderator: Annotated[
        str | None, typer.Option(help="Override moderation.moderator: classifier, llm, none.")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Threshold mode: block when P(needs intervention) > t.")
    ] = None,
) -> None:
    """Evaluate the configured moderator and policy on DATA (texts written `Bot: ...` are
    judged as bot replies, streamed through the output checker as the server does; the rest
    as user messages)."""
    moderation, data_dir = _settings(ctx, moderator, threshold)
    names = list(EVAL_PARTS) if str(data) == "all" and not data.exists() else [str(data)]
    parts = {name: _load(Path(name)) for name in names}
    mod = build_moderator(moderation, data_dir, progress=not as_json)
    policy = Policy(moderation)
    results = {name: evaluate(mod, policy, examples) for name, examples in parts.items()}
    if as_json:
        out = {
            name: report.as_dict() | {"by_kind": by_kind, "meets_targets": meets(name, report)}
            for name, (report, by_kind) in results.items()
        }
        typer.echo(json.dumps(out if len(out) > 1 else next(iter(out.values()))))
        return
    for name, (report, by_kind) in results.items():
        if len(results) > 1:
            console.rule(name)
        _print_report(report)
        if by_kind:
            _print_kinds(by_kind)
        if name in TARGETS:
            verdict = "met" if meets(name, report) else "NOT met"
            wanted = ", ".join(f"{m} {op} {v}" for m, (op, v) in TARGETS[name].items())
            console.print(f"targets ({wanted}): {verdict}", highlight=False)


@moderation_app.command()
def cues(
    data: Annotated[
        Path,
        typer.Argument(
            help="Labelled JSONL: one {text, label} per line; or a part of Parley's own set: "
            f"{', '.join(SHIPPED_PARTS)}."
        ),
    ],
    min_texts: Annotated[
        int, typer.Option(min=1, help="Report n-grams found in at least this many texts.")
    ] = 8,
    min_share: Annotated[
        float,
        typer.Option(min=0.5, max=1.0, help="...of which at least this share carry one label."),
    ] = 0.85,
    label: Annotated[
        str | None, typer.Option(help="Only cues of this label (e.g. 'needs intervention').")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Print at most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array.")] = False,
) -> None:
    """List the word n-grams of DATA that go almost only with one label: what a classifier
    trained on it may learn instead of intent, and where look-alikes are missing."""
    from parley.moderation.cues import label_cues

    wanted = None
    if label is not None:
        try:
            wanted = Label.parse(label)
        except ValueError as exc:
            fail(f"--label: {exc}")
    found = [
        c
        for c in label_cues(_load(data), min_texts=min_texts, min_share=min_share)
        if wanted is None or c.label is wanted
    ][:top]
    if as_json:
        typer.echo(json.dumps([c.as_dict() for c in found]))
        return
    table = Table("n-gram", "texts", "label", "share", title=f"label cues of {escape(data.name)}")
    for cue in found:
        table.add_row(cue.ngram, str(cue.texts), cue.label.value, f"{cue.label_share:.2f}")
    console.print(table)


def moderate(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The text to moderate.")],
    role: Annotated[str, typer.Option(help="Who wrote it: user (input) or bot (output).")] = "user",
    moderator: Annotated[
        str | None, typer.Option(help="Override moderation.moderator: classifier, llm, none.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print TEXT's moderation label, the probability of each label and the policy's action."""
    if role not in ("user", "bot"):
        fail(f"--role must be 'user' or 'bot', got {role!r}")
    moderation, data_dir = _settings(ctx, moderator)
    mod = build_moderator(moderation, data_dir, progress=not as_json)
    result = mod.moderate(text, role)  # type: ignore[arg-type]
    decision = Policy(moderation).decide(result, role, text)  # type: ignore[arg-type]
    if as_json:
        out = result.as_dict() | {"action": decision.action.value, "message": decision.message}
        typer.echo(json.dumps(out))
        return
    console.print(f"label: [bold]{result.label.value}[/]   action: [bold]{decision.action}[/]")
    table = Table("label", "probability")
    for label in SEVERITY_ORDER:
        table.add_row(label.value, f"{result.probability(label):.3f}")
    console.print(table)
    if decision.message:
        console.print(decision.message, highlight=False)


def _print_report(report: EvalReport) -> None:
    console.print(
        f"{report.n} examples: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}"
    )
    console.print(f"needs-intervention recall (blocked): {_fmt(report.intervention_recall)}")
    console.print(f"casual false-block rate: {_fmt(report.casual_false_block_rate)}")
    short = {lb.value: lb.value.split()[-1 if lb.severity >= 3 else 0] for lb in SEVERITY_ORDER}
    table = Table("true \\ predicted", *short.values(), title="confusion matrix")
    for true_label, row in report.confusion.items():
        table.add_row(short[true_label], *(str(row[p]) for p in short))
    console.print(table)


def _print_kinds(by_kind: dict[str, dict[str, float | int | None]]) -> None:
    table = Table("kind", "n", "intervention recall", "casual false blocks", title="by kind")
    for kind, row in by_kind.items():
        recall, false_blocks = row["intervention_recall"], row["casual_false_block_rate"]
        table.add_row(
            kind,
            str(row["n"]),
            _fmt(None if recall is None else float(recall)),
            _fmt(None if false_blocks is None else float(false_blocks)),
        )
    console.print(table)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
