"""Serving under concurrency: bare llama.cpp server vs Parley's server, same GGUF, one run.

Measures, at 1/2/4/8 concurrent clients streaming chat completions:
- bare `llama-server` (the binary set-up built, `--parallel 8`, all cores), no pipeline;
- Parley's server on its default engine for `parley serve` (the managed llama-server), with
  moderation (classifier, in and out) on, and off; retrieval off. The three run at once and
  each level is measured on them back to back (`--repeats` times), so each ratio compares
  figures taken a few seconds apart;
- Parley's server on the in-process llama.cpp engine, moderation on (the engine before);
- with `--in-front`, Parley's servers run on the `openai` engine, each in front of its own
  server started as the bare one, instead of managing their own: the pipeline before an engine
  it does not manage (a GPU build of llama-server stands in for vLLM, which cannot be installed
  offline; see benchmarks/gpu_check.sh);
then time to first token p50/p95, aggregate tokens/s, and the peak RSS of the server's process
tree; and a 64-token grounded answer (retrieval + moderation) end to end, p50/p95. Also one
stream at a time on both engines directly (no HTTP), which decides the terminal chat's engine.

    .venv/bin/python benchmarks/serving.py [--max-tokens 128] [--rounds 2] [--repeats 3] [--quick]
    python benchmarks/serving.py --in-front --gpu-layers 99 --levels 1 8 32 --quick --no-grounded
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _stats import percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from parley.server.child import free_port, running_server  # noqa: E402

QUESTIONS = [
    "Write a long story about a dragon who learns to cook.",
    "Explain in detail how a steam engine works.",
    "Describe a journey across the ocean in many sentences.",
    "Write a long letter to a friend about your garden.",
    "Tell me everything you know about the history of Rome.",
    "Describe a busy market day in a small town.",
    "Write a long poem about the mountains in winter.",
    "Explain how bread is made, step by step, in detail.",
]


# Distinct questions about vital-article topics that ask for an explanation, so that answers
# run to the 64-token limit (short factual questions end after ~30 tokens); each is asked once,
# so nothing the server caches per question or per retrieved passage is reused by a repeat.
GROUNDED = [
    "Who painted the Mona Lisa?",  # the warm-up
    "Explain how photosynthesis works.",
    "Describe the life of Julius Caesar.",
    "Explain what DNA is and what it does.",
    "Describe the history of the Great Wall of China.",
    "Explain how volcanoes form and erupt.",
    "Describe the causes of the French Revolution.",
    "Explain how vaccines protect people from disease.",
    "Describe the geography of the Amazon rainforest.",
    "Explain the theory of evolution by natural selection.",
    "Describe the life and work of Isaac Newton.",
    "Explain how the human heart pumps blood.",
    "Describe the history of the printing press.",
    "Explain what causes earthquakes.",
    "Describe the culture of ancient Egypt.",
    "Explain how the internet works.",
    "Describe the life of Mahatma Gandhi.",
    "Explain how an airplane flies.",
    "Describe the solar system and its planets.",
    "Explain what inflation is in economics.",
    "Describe the history of the Olympic Games.",
    "Explain how glaciers shape the land.",
    "Describe the works of Ludwig van Beethoven.",
    "Explain what the immune system does.",
    "Describe the rise and fall of the Ottoman Empire.",
]


@dataclass(frozen=True)
class Server:
    """A running server to measure: where it answers, its process, what it is sent."""

    name: str
    url: str
    pid: int
    body: Callable[[int], dict[str, Any]]
    about: dict[str, Any]


def grounded_questions(count: int) -> list[str]:
    """The warm-up and `count - 1` distinct questions."""
    if count > len(GROUNDED):
        raise SystemExit(f"--rounds asks for {count} grounded questions; there are {len(GROUNDED)}")
    return GROUNDED[:count]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MiB."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 1024


class PeakRss:
    """Samples a process tree's RSS every 100 ms in the background."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            time.sleep(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak, 1)


def stream_chat(client: httpx.Client, body: dict[str, Any]) -> dict[str, float]:
    """One streamed chat completion: time to first content, total time, tokens."""
    started = time.perf_counter()
    first, tokens, pieces = None, 0, 0
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                raise RuntimeError(chunk["error"])
            choices = chunk.get("choices") or []
            if choices and choices[0].get("delta", {}).get("content"):
                pieces += 1
                if first is None:
                    first = time.perf_counter()
            if chunk.get("usage"):
                tokens = chunk["usage"].get("completion_tokens", tokens)
    end = time.perf_counter()
    return {"ttft": (first or end) - started, "total": end - started, "tokens": tokens or pieces}


def load(url: str, clients: int, rounds: int, body_for: Callable[[int], dict[str, Any]]):
    """`clients` threads, each sending `rounds` requests one after another."""
    results: list[dict[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client_loop(index: int) -> None:
        # A new connection per request: llama-server closes idle keep-alive connections, and a
        # request sent on one it just closed fails ("disconnected without a response").
        no_keepalive = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=url, timeout=600, limits=no_keepalive) as client:
            for round_ in range(rounds):
                try:
                    sample = stream_chat(client, body_for(index * rounds + round_))
                except Exception as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                with lock:
                    results.append(sample)

    began = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ttft = [r["ttft"] * 1000 for r in results]
    return {
        "clients": clients,
        "requests": len(results),
        "errors": errors[:3],
        "ttft_ms_p50": round(percentile(ttft, 50), 1),
        "ttft_ms_p95": round(percentile(ttft, 95), 1),
        "tokens": int(sum(r["tokens"] for r in results)),
        "aggregate_tok_s": round(sum(r["tokens"] for r in results) / wall, 1),
    }


def chat_body(max_tokens: int, **extra: Any) -> Callable[[int], dict[str, Any]]:
    def body(index: int) -> dict[str, Any]:
        return {
            "model": "parley",  # Parley answers to its own id or "parley"; llama-server to any
            "messages": [{"role": "user", "content": QUESTIONS[index % len(QUESTIONS)]}],
            "stream": True,
            "temperature": 0.7,
            "seed": index,
            "max_tokens": max_tokens,
            "stream_options": {"include_usage": True},
            **extra,
        }

    return body


def served_gguf() -> Path:
    """The file Parley's llama.cpp engines run for the default (its Q8_0 copy), so that both
    servers run the same weights in the same storage."""
    from parley.engines.gguf_files import gguf_source
    from parley.engines.settings import ModelSettings

    path = gguf_source(ModelSettings()).path
    assert path is not None
    return path


@contextmanager
def bare_server(
    args: argparse.Namespace, workdir: Path, name: str = "bare_llama_server"
) -> Iterator[Server]:
    """Bare llama-server on the file Parley serves, `--parallel` the highest level."""
    from parley.engines.llama_server import find_llama_server, server_arguments

    binary = find_llama_server(None)
    if binary is None:
        raise SystemExit("llama-server is not built (scripts/setup.sh)")
    port = free_port()
    cores = os.cpu_count() or 1
    arguments = server_arguments(
        served_gguf(),
        parallel=max(args.levels),
        slot_context=2048,
        threads=cores,
        batch_threads=cores,
    )
    if args.gpu_layers is not None:
        arguments += ["--n-gpu-layers", str(args.gpu_layers)]
    command = [str(binary), *arguments, "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, url, log=workdir / f"{name}.log", ready_path="/health") as process:
        yield Server(
            name,
            url,
            process.pid,
            chat_body(args.max_tokens),
            {"flags": " ".join(arguments[2:])},
        )


@contextmanager
def parley_server(
    args: argparse.Namespace,
    workdir: Path,
    name: str,
    *,
    engine: str,
    moderation: bool,
    grounded: bool = False,
    upstream: str | None = None,
) -> Iterator[Server]:
    """Parley's server on `engine`, moderation on or off, retrieval only when `grounded`;
    on the `openai` engine, in front of the server at `upstream`."""
    port = free_port()
    config = workdir / f"{name}.toml"
    # The user's data dir by default: the default KB and the cached moderation head are there.
    data_line = f'data_dir = "{args.data_dir}"\n' if args.data_dir else ""
    active = max(16, max(args.levels))
    upstream_line = f'base_url = "{upstream}/v1"\n' if upstream else ""
    config.write_text(
        data_line + f"[server]\nport = {port}\nmax_active_generations = {active}\n"
        "rate_limit_per_minute = 0\n"
        f'[model]\nengine = "{engine}"\nparallel = {max(args.levels)}\ncontext_window = 2048\n'
        + upstream_line
        + f"[retrieval]\nenabled = {'true' if grounded else 'false'}\n"
        f'[moderation]\nmoderator = "{"classifier" if moderation else "none"}"\n'
    )
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    command = [sys.executable, "-m", "parley.cli", "-c", str(config), "serve"]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, url, log=workdir / f"{name}.log", env=env) as process:
        health = httpx.get(f"{url}/health", timeout=10).json()
        body = chat_body(args.max_tokens, retrieval=False)
        yield Server(name, url, process.pid, body, {"engine": health.get("engine")})


def measure_levels(args: argparse.Namespace, servers: list[Server]) -> dict[str, Any]:
    """Every level on every server, the servers back to back within each level and round, so
    that a slow spell of the shared machine falls on all of them (a server's levels measured
    minutes apart from another's drifted by 10-20% here). Returns each server's levels (each
    repeat's tokens/s among them, for `ratios`) and peak RSS, by server name."""
    rss = {server.name: PeakRss(server.pid) for server in servers}
    for server in servers:
        load(server.url, 1, 1, server.body)  # warm-up: first prompt processing, caches
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {s.name: {} for s in servers}
    for _ in range(args.repeats):
        for clients in args.levels:
            for server in servers:
                figures = load(server.url, clients, args.rounds, server.body)
                samples[server.name].setdefault(clients, []).append(figures)
    report: dict[str, Any] = {}
    for server in servers:
        levels = [merged(runs) for runs in samples[server.name].values()]
        report[server.name] = {
            **server.about,
            "levels": levels,
            "peak_rss_mb": rss[server.name].stop(),
        }
    return report


def merged(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One level's repeats: the median of each figure, and every run's aggregate tokens/s."""
    out = dict(runs[0])
    for key in ("ttft_ms_p50", "ttft_ms_p95", "aggregate_tok_s"):
        out[key] = round(statistics.median(run[key] for run in runs), 1)
    out["requests"] = sum(run["requests"] for run in runs)
    out["tokens"] = sum(run["tokens"] for run in runs)
    out["errors"] = [e for run in runs for e in run["errors"]][:3]
    if len(runs) > 1:
        out["aggregate_tok_s_runs"] = [run["aggregate_tok_s"] for run in runs]
    return out


def grounded_run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with parley_server(
        args, workdir, "parley-grounded", engine="auto", moderation=True, grounded=True
    ) as server:
        rss = PeakRss(server.pid)
        return {**server.about, **grounded_answers(server.url, args), "peak_rss_mb": rss.stop()}


def grounded_answers(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """A 64-token grounded answer (retrieval + moderation), one client, end to end; with the
    server's own retrieval time and time to first token (its /metrics), to show where it goes."""
    times, tokens, sources = [], [], 0
    with httpx.Client(base_url=url, timeout=600) as client:
        for index, question in enumerate(grounded_questions(1 + 6 * args.rounds)):
            body = {
                "messages": [{"role": "user", "content": question}],
                "temperature": 0,
                "max_tokens": 64,
            }
            if index == 1:  # the first one warms up
                before = metric_sums(client)
            began = time.perf_counter()
            reply = client.post("/v1/chat/completions", json=body)
            reply.raise_for_status()
            if index:
                times.append(time.perf_counter() - began)
                tokens.append(reply.json()["usage"]["completion_tokens"])
                sources += bool(reply.json().get("sources"))
        after = metric_sums(client)
    n = len(times)
    return {
        "requests": n,
        "with_sources": sources,
        "completion_tokens_mean": round(sum(tokens) / n, 1),
        "total_ms_p50": round(percentile([t * 1000 for t in times], 50), 1),
        "total_ms_p95": round(percentile([t * 1000 for t in times], 95), 1),
        "server_retrieval_ms_mean": round(
            (after["parley_retrieval_seconds_sum"] - before["parley_retrieval_seconds_sum"])
            * 1000
            / n,
            1,
        ),
        "server_ttft_ms_mean": round(
            (
                after["parley_time_to_first_token_seconds_sum"]
                - before["parley_time_to_first_token_seconds_sum"]
            )
            * 1000
            / n,
            1,
        ),
    }


def metric_sums(client: httpx.Client) -> dict[str, float]:
    """The `_sum` samples of the server's Prometheus histograms, by name."""
    sums: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        name, _, value = line.partition(" ")
        if name.endswith("_sum"):
            sums[name] = sums.get(name, 0.0) + float(value)
    return sums


def single_stream(args: argparse.Namespace) -> dict[str, Any]:
    """One stream at a time on each engine directly (the terminal chat's case), 3 runs each."""
    from parley.config import ModelSettings
    from parley.engines.base import Turn
    from parley.engines.factory import build_engine
    from parley.engines.formats import build_format
    from parley.engines.generation import Generation
    from parley.engines.params import GenerationParams

    out: dict[str, Any] = {}
    cores = os.cpu_count() or 1
    # In-process with the terminal chat's plan (1 thread on 2 cores, torch beside it in the
    # same process) and with every core; llama-server with every core (its own process).
    runs = [("llama.cpp", max(1, cores - 1)), ("llama.cpp", cores), ("llama-server", cores)]
    for name, threads in runs:
        settings = ModelSettings(engine=name, context_window=2048, parallel=1, threads=threads)
        engine = build_engine(settings)
        try:
            prompt = build_format("auto", engine).render([Turn("user", QUESTIONS[0])])
            params = GenerationParams(temperature=0.7, max_new_tokens=args.max_tokens)
            rates, ttfts = [], []
            for seed in range(4):
                generation = Generation(engine, prompt, params.updated(seed=seed))
                began = time.perf_counter()
                generation.result()
                if seed:  # the first one warms up
                    rates.append(generation.completion_tokens / (time.perf_counter() - began))
                    ttfts.append((generation.time_to_first_token or 0) * 1000)
            out[f"{name} threads={threads}"] = {
                "tok_s_runs": [round(r, 1) for r in rates],
                "tok_s_median": round(sorted(rates)[len(rates) // 2], 1),
                "ttft_ms_median": round(sorted(ttfts)[len(ttfts) // 2], 1),
            }
        finally:
            engine.close()
    return out


PARLEY_SERVERS = {"parley_moderation_on": True, "parley_moderation_off": False}
"""Parley's servers measured beside bare llama-server, by whether moderation is on."""

MEASUREMENTS = (
    "bare_llama_server",
    "parley_moderation_on",
    "parley_moderation_off",
    "parley_in_process_moderation_on",
    "single_stream_engines",
    "grounded_64_tokens",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="requests per client per level")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="measure each level this many times, bare and Parley (moderation on, off) back to "
        "back each time, and report each repeat's ratios and their median (single runs on a "
        "shared machine vary by 10-20%%)",
    )
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--data-dir", type=Path, help="Parley data dir (the default KB index)")
    parser.add_argument("--quick", action="store_true", help="skip the in-process comparison")
    parser.add_argument(
        "--in-front",
        action="store_true",
        help="run Parley's servers on the openai engine in front of the bare server",
    )
    parser.add_argument(
        "--gpu-layers", type=int, help="bare llama-server's --n-gpu-layers (a CUDA build)"
    )
    parser.add_argument("--no-grounded", action="store_true", help="skip the grounded answer")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=MEASUREMENTS,
        help="run only these measurements (default: all that the other flags leave)",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="parley-serving-"))
    report: dict[str, Any] = {
        "model": f"smollm2-135m-instruct ({served_gguf().name})",
        "cores": os.cpu_count(),
        "load_average_before": os.getloadavg(),
        "max_tokens": args.max_tokens,
    }

    def measure(name: str, run: Callable[[], dict[str, Any]]) -> None:
        """`run()`'s figures under `name` in the report, unless `--only` leaves it out."""
        if args.only and name not in args.only:
            return
        report[name] = run()
        print(json.dumps({name: report[name]}), file=sys.stderr, flush=True)  # progress

    def serving() -> dict[str, Any]:
        """Bare (the reference, always) and the Parley servers asked for, all up at once."""
        with ExitStack() as stack:
            servers = [stack.enter_context(bare_server(args, workdir))]
            for name, moderation in PARLEY_SERVERS.items():
                if not args.only or name in args.only:
                    upstream = None
                    if args.in_front:
                        # Each Parley server has its own upstream, started as bare's: llama.cpp
                        # attends over every slot between a batch's lowest and highest busy one,
                        # so on one shared server whoever runs after another inherits its slot
                        # layout (8 clients after 32 measured 0.25x, or 1.2x, by luck).
                        own = bare_server(args, workdir, f"{name}_upstream")
                        upstream = stack.enter_context(own).url
                    server = parley_server(
                        args,
                        workdir,
                        name,
                        engine="openai" if upstream else "auto",
                        moderation=moderation,
                        upstream=upstream,
                    )
                    servers.append(stack.enter_context(server))
            return measure_levels(args, servers)

    served: dict[str, Any] = {}
    if not args.only or {"bare_llama_server", *PARLEY_SERVERS} & set(args.only):
        served = serving()
        for name, figures in served.items():
            measure(name, lambda figures=figures: figures)
    if not args.quick:

        def in_process() -> dict[str, Any]:
            with parley_server(
                args, workdir, "parley_in_process", engine="llama.cpp", moderation=True
            ) as server:
                return measure_levels(args, [server])["parley_in_process"]

        measure("parley_in_process_moderation_on", in_process)
        measure("single_stream_engines", lambda: single_stream(args))
    if not args.no_grounded:
        measure("grounded_64_tokens", lambda: grounded_run(args, workdir))
    # From every server measured: bare is the reference even when `--only` leaves its figures out.
    report["ratios"] = ratios(served)
    report["load_average_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))


def ratios(served: dict[str, Any]) -> dict[str, Any]:
    """Parley (moderation on, and off) against bare at each level, per repeat (measured back
    to back) and their median; and Parley's 4-client gain over one client."""

    def runs(name: str) -> dict[int, list[float]]:
        levels = served.get(name, {}).get("levels", [])
        return {
            level["clients"]: level.get("aggregate_tok_s_runs", [level["aggregate_tok_s"]])
            for level in levels
        }

    bare = runs("bare_llama_server")
    out: dict[str, Any] = {}
    for name in PARLEY_SERVERS:
        label = name.replace("parley_moderation_", "mod_")
        parley = runs(name)
        for clients in sorted(set(bare) & set(parley)):
            paired = [round(p / b, 2) for p, b in zip(parley[clients], bare[clients], strict=True)]
            out[f"parley_{label}_vs_bare_{clients}"] = {
                "median": round(statistics.median(paired), 2),
                "runs": paired,
            }
        if 1 in parley and 4 in parley:
            gain = statistics.median(parley[4]) / statistics.median(parley[1])
            out[f"parley_{label}_4_vs_1"] = round(gain, 2)
    return out


if __name__ == "__main__":
    main()
