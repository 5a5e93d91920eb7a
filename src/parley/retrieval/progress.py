"""Rich progress bars for index builds: chunks embedded, docs/s and time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, e.g. `172 docs/s`."""

    def __init__(self, unit: str = "docs") -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        if not speed and task.completed and task.elapsed:
            speed = task.completed / task.elapsed  # one big step gives Rich no samples
        return Text(f"{speed:,.0f} {self.unit}/s" if speed else f"- {self.unit}/s", style="cyan")


class DocumentRateColumn(ProgressColumn):
    """Documents per second while the bar counts chunks: the share of chunks done times the
    documents, over the time taken (chunks are embedded by length, not document by document)."""

    def __init__(self, documents: int) -> None:
        super().__init__()
        self.documents = documents

    def render(self, task: Task) -> Text:
        elapsed = task.finished_time or task.elapsed
        if not elapsed or not task.total or not task.completed:
            return Text("- docs/s", style="cyan")
        rate = self.documents * (task.completed / task.total) / elapsed
        return Text(f"{rate:,.1f} docs/s" if rate < 10 else f"{rate:,.0f} docs/s", style="cyan")


def build_progress(
    console: Console | None = None, *, enabled: bool = True, documents: int | None = None
) -> Progress:
    """A progress display for embedding; it counts chunks (and shows docs/s when the number
    of documents is given); disabled ones draw nothing."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        RateColumn("chunks"),
        *([DocumentRateColumn(documents)] if documents else []),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console or Console(stderr=True),
        disable=not enabled,
        transient=False,
    )
