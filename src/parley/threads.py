"""The thread budget: how many CPU threads the chat engine and torch (embedder, moderator) get.

llama.cpp's threads spin while they wait for each other, and torch's OpenMP threads do too,
so two pools that each take every core slow each other down badly (an in-process decode with
2 threads on 2 busy cores measured 6-144 tokens/s, with 1 thread a steady 125). The budget
(`threads`, all cores by default) is split once, here: torch gets what the embedder and the
moderation classifier need for one query at a time, the engine the rest.

An engine in its own process (llama.cpp's `llama-server`) decodes on the whole budget: torch
then runs only short bursts (one query or sentence at a time) beside it. On 2 cores, moderation
on, one client: 44 tokens/s with 1 decode thread, 70 with 2 (bare llama-server: 79-87); at 8
clients 91 and 98 (`benchmarks/serving.py`, issue 11).
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class ThreadPlan:
    """Threads per consumer, chosen together so that they add up to the budget."""

    budget: int
    engine: int
    """Generation threads (llama.cpp decode; torch for the transformers engine)."""
    engine_batch: int
    """llama.cpp prompt-processing threads: short bursts, so they may use the whole budget."""
    torch: int
    """torch intra-op threads for the embedder and the moderation classifier."""


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def plan_threads(
    budget: int | None,
    *,
    engine_threads: int | None = None,
    engine_uses_torch: bool = False,
    engine_own_process: bool = False,
    torch_needed: bool = True,
) -> ThreadPlan:
    """Split `budget` (default: the available cores) between the engine and torch.

    `engine_threads` (model.threads) is honoured as given. When the engine itself runs on
    torch (transformers), both are one pool and the engine gets the whole budget; so does an
    engine in its own process (`engine_own_process`), beside torch's short bursts.
    """
    total = budget or available_cores()
    if engine_uses_torch:
        engine = engine_threads or total
        return ThreadPlan(total, engine, engine, engine)
    # One query at a time needs one torch thread; big machines get a quarter for bursts.
    torch = (1 if total <= 4 else total // 4) if torch_needed else 0
    engine = engine_threads or (total if engine_own_process else max(1, total - torch))
    return ThreadPlan(total, engine, max(engine, total), max(1, torch))
