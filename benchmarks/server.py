"""End-to-end server latency and throughput against the bare engine, printed as JSON.

One process builds the service on the embedded defaults (llama.cpp SmolLM2, classifier
moderation, default knowledge base, SQLite sessions), serves it with uvicorn on 127.0.0.1, and
measures in the same run:

- bare engine: `Generation` on the engine directly, same prompts, no HTTP;
- pipeline over HTTP (OpenAI streaming endpoint) without retrieval: what the pipeline adds
  (moderation in and out, sessions, HTTP, SSE) on the same prompt;
- pipeline with retrieval (a longer prompt: context passages);
- throughput with 1/4/16 concurrent clients.

    .venv/bin/python benchmarks/server.py [--requests 10] [--max-tokens 48]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="sequential requests per mode")
    parser.add_argument("--max-tokens", type=int, default=48)
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--data-dir", default=None, help="Parley data dir (index, sessions)")
    args = parser.parse_args()

    import uvicorn

    from parley.config import load_settings
    from parley.engines.base import Turn
    from parley.engines.generation import Generation
    from parley.server.app import create_app
    from parley.wiring import build_service

    overrides: dict[str, Any] = {}
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    settings = load_settings(overrides=overrides)
    settings.server.rate_limit_per_minute = 0
    settings.server.max_queued_generations = 1000
    began = time.perf_counter()
    service = build_service(settings, progress=False)
    build_s = time.perf_counter() - began
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(service, settings.server), port=port, log_level="warning")
    )
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
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    server.should_exit = True
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    main()
