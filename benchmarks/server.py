"""End-to-end server latency and throughput against the bare engine, printed as JSON.

One process builds the service on the embedded defaults (llama.cpp SmolLM2, classifier
moderation, default knowledge base, SQLite sessions), serves it with uvicorn on 127.0.0.1, and
measures in the same run:

- bare engine: `Generation` on the engine directly, same prompts, no HTTP;
- pipeline over HTTP (OpenAI streaming endpoint) without retrieval: what the pipeline adds
  (moderation in and out, sessions, HTTP, SSE) on the same prompt;
- pipeline with retrieval (a longer prompt: context passages);
- throughput with 1/4/16 concurrent clients;
- hostile-input costs (issue 14): input processing at the body limit (199 long messages,
  time to the first streamed chunk, which comes before generation), the cost of a message on
  a session of 10/100/1000 turns (same measure: linear and <= 0.5 s is the target), and
  `/ping` latency while 60 streams are opened at once.

    .venv/bin/python benchmarks/server.py [--requests 10] [--max-tokens 48] [--only hostile]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from _stats import latency_summary, peak_rss_mb

QUESTIONS = [
    "Who painted the Mona Lisa?",
    "What is the capital of France?",
    "How does photosynthesis work?",
    "Who was Julius Caesar?",
    "What is the speed of light?",
    "Why is the sky blue?",
    "What is DNA?",
    "Who wrote Hamlet?",
]


def stats(samples: list[dict[str, float]]) -> dict[str, Any]:
    ttft = [s["ttft"] * 1000 for s in samples]
    total = [s["total"] * 1000 for s in samples]
    return {
        "n": len(samples),
        **latency_summary(ttft, (50, 95), key="ttft_ms_{stat}", ndigits=1),
        **latency_summary(total, (50, 95), key="total_ms_{stat}", ndigits=1),
    }


def stream_http(client: httpx.Client, question: str, args: argparse.Namespace, retrieval: bool):
    body = {
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "temperature": 0,
        "max_tokens": args.max_tokens,
        "retrieval": retrieval,
    }
    started = time.perf_counter()
    first = None
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter()
    end = time.perf_counter()
    return {"ttft": (first or end) - started, "total": end - started}


def time_to_first_chunk(client: httpx.Client, body: dict[str, Any]) -> float:
    """Seconds until the first SSE chunk: all input processing, none of the generation."""
    started = time.perf_counter()
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: "):
                return time.perf_counter() - started
    raise RuntimeError("the stream ended without a chunk")


def spread(values_s: list[float]) -> dict[str, float]:
    ms = sorted(v * 1000 for v in values_s)
    return {
        "n": len(ms),
        "median_ms": round(ms[len(ms) // 2], 1),
        "min_ms": round(ms[0], 1),
        "max_ms": round(ms[-1], 1),
    }


def hostile(service: Any, url: str, repeat: int) -> dict[str, Any]:
    """Issue 14's figures: body-limit input, long sessions, /ping under 60 streams."""
    from parley.sessions.base import StoredTurn

    out: dict[str, Any] = {}
    client = httpx.Client(base_url=url, timeout=600)
    messages = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "w " * 2400} for i in range(199)
    ]
    body = {"messages": messages, "max_tokens": 1, "retrieval": False}
    out["body_limit_request_bytes"] = len(json.dumps(body))
    out["body_limit_input_processing"] = spread(
        [time_to_first_chunk(client, body) for _ in range(repeat)]
    )
    store = service.store
    per_length: dict[str, Any] = {}
    for turns in (10, 100, 1000):
        session = store.create(None)
        pair = [
            StoredTurn(role="user", text="Tell me about the history of Rome. " * 3),
            StoredTurn(role="assistant", text="Rome was founded, grew and fell. " * 6),
        ]
        # Filled so that the last measured message still fits the turn limit (1000 default).
        for _ in range((turns - 2 * repeat) // 2):
            store.append(session.id, pair)
        samples = []
        for _ in range(repeat):
            chat = {
                "messages": [{"role": "user", "content": "And then?"}],
                "session_id": session.id,
                "max_tokens": 1,
                "retrieval": False,
            }
            samples.append(time_to_first_chunk(client, chat))
        per_length[f"turns_{turns}"] = spread(samples)
    out["session_message_before_generation"] = per_length

    # /ping while 60 streams are opened together (8 run, 32 wait, the rest get 429).
    statuses: list[int] = []
    stop = threading.Event()

    def streamer(index: int) -> None:
        with httpx.Client(base_url=url, timeout=600) as own:
            body = {
                "messages": [{"role": "user", "content": QUESTIONS[index % len(QUESTIONS)]}],
                "stream": True,
                "max_tokens": 48,
                "retrieval": False,
            }
            with own.stream("POST", "/v1/chat/completions", json=body) as response:
                statuses.append(response.status_code)
                for _ in response.iter_lines():
                    pass

    threads = [threading.Thread(target=streamer, args=(i,)) for i in range(60)]
    for thread in threads:
        thread.start()
    pings: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as pinger:
        while any(t.is_alive() for t in threads) and not stop.is_set():
            began = time.perf_counter()
            pinger.get("/ping").raise_for_status()
            pings.append((time.perf_counter() - began) * 1000)
            time.sleep(0.05)
    for thread in threads:
        thread.join()
    out["ping_under_60_streams"] = {
        "pings": len(pings),
        **latency_summary(pings, (50, 95, 99), key="{stat}_ms", ndigits=1),
        "max_ms": round(max(pings), 1) if pings else None,
        "stream_statuses": {str(code): statuses.count(code) for code in sorted(set(statuses))},
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="sequential requests per mode")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--data-dir", default=None, help="Parley data dir (index, sessions)")
    parser.add_argument("--only", choices=["all", "hostile"], default="all")
    parser.add_argument("--hostile-repeat", type=int, default=5)
    parser.add_argument(
        "--no-knowledge-base",
        action="store_true",
        help="build the service without retrieval (no index to build; the hostile figures "
        "send retrieval=false anyway)",
    )
    args = parser.parse_args()

    import uvicorn

    from parley.config import load_settings
    from parley.engines.base import Turn
    from parley.engines.generation import Generation
    from parley.server.app import create_app
    from parley.server.serving import uvicorn_config
    from parley.wiring import build_service

    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.no_knowledge_base:
        overrides["retrieval"] = {"enabled": False}
    settings = load_settings(overrides=overrides)
    settings.server.rate_limit_per_minute = 0
    settings.server.max_queued_generations = 1000
    began = time.perf_counter()
    service = build_service(settings, progress=False)
    build_s = time.perf_counter() - began
    from parley.server.child import free_port

    port = free_port()
    settings.server.port = port
    server = uvicorn.Server(uvicorn_config(create_app(service, settings.server), settings.server))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)

    engine, fmt = service.engine, service.prompt_format
    params = settings.generation.updated(temperature=0, max_new_tokens=args.max_tokens)
    params = params.model_copy(update={"do_sample": None, "temperature": 0.0})

    def bare(question: str) -> dict[str, float]:
        started = time.perf_counter()
        generation = Generation(
            engine, fmt.render([Turn("user", question)]), params, fmt.stop_words
        )
        first = None
        for _ in generation:
            first = first or time.perf_counter()
        end = time.perf_counter()
        return {"ttft": (first or end) - started, "total": end - started}

    if args.only == "hostile":
        stream_http(client, QUESTIONS[0], args, False)  # warm-up
        results = {"defaults": service.describe(), "cpu_cores": os.cpu_count()}
        results["hostile"] = hostile(service, f"http://127.0.0.1:{port}", args.hostile_repeat)
        server.should_exit = True
        print(json.dumps(results, indent=2))
        return
    questions = [QUESTIONS[i % len(QUESTIONS)] for i in range(args.requests)]
    bare(questions[0])
    stream_http(client, questions[0], args, True)  # warm-up both paths
    results: dict[str, Any] = {
        "defaults": service.describe(),
        "cpu_cores": os.cpu_count(),
        "max_new_tokens": args.max_tokens,
        "service_build_s": round(build_s, 2),
        "output_moderation": settings.moderation.stream_check,
    }
    results["bare_engine"] = stats([bare(q) for q in questions])
    results["pipeline_no_retrieval"] = stats(
        [stream_http(client, q, args, False) for q in questions]
    )
    results["pipeline_with_retrieval"] = stats(
        [stream_http(client, q, args, True) for q in questions]
    )
    results["pipeline_added_ttft_ms_p50"] = round(
        results["pipeline_no_retrieval"]["ttft_ms_p50"] - results["bare_engine"]["ttft_ms_p50"], 1
    )

    throughput: dict[str, Any] = {}
    for concurrency in [int(c) for c in args.concurrency.split(",") if c]:
        samples: list[dict[str, float]] = []

        def worker(index: int, out: list[dict[str, float]]) -> None:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as own:
                out.append(stream_http(own, QUESTIONS[index % len(QUESTIONS)], args, True))

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i, samples)) for i in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        throughput[f"clients_{concurrency}"] = {
            **stats(samples),
            "requests_per_s": round(concurrency / wall, 2),
        }
    results["throughput"] = throughput
    results["hostile"] = hostile(service, f"http://127.0.0.1:{port}", args.hostile_repeat)
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    server.should_exit = True
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    main()
