"""Generation speed: time to first token and decode tokens/s per engine, printed as JSON.

Each engine runs in its own process so peak RSS is its own. Measured on the embedded default
model: Parley's `llama.cpp` and `transformers` engines, single stream and with 1/2/4/8
concurrent requests, and the peers in the same run: bare llama-cpp-python and bare
`transformers.generate` on the same prompt and settings.

    .venv/bin/python benchmarks/generation.py [--runs 5] [--max-tokens 128] [--concurrency 1,2,4,8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from _stats import latency_summary, peak_rss_mb

QUESTIONS = [
    "Write a long story about a dragon who learns to paint.",
    "Explain in detail how a steam engine works.",
    "Describe the history of the Roman Empire at length.",
    "Write a detailed travel guide to Paris.",
    "Explain how photosynthesis works, step by step.",
    "Write a long poem about the ocean.",
    "Describe how to bake bread, in detail.",
    "Explain the rules of chess thoroughly.",
]


def summarise(samples: list[dict[str, float]], wall: float | None = None) -> dict[str, Any]:
    ttfts = [s["ttft"] * 1000 for s in samples]
    decode = [s["decode_tps"] for s in samples if s["decode_tps"] > 0]
    tokens = sum(s["tokens"] for s in samples)
    out = {
        "requests": len(samples),
        **latency_summary(ttfts, (50, 95), key="ttft_ms_{stat}", ndigits=1),
        "decode_tokens_per_s_per_stream": round(statistics.median(decode), 1) if decode else 0,
        "tokens": tokens,
    }
    if wall:
        out["total_tokens_per_s"] = round(tokens / wall, 1)
    return out


def timed_stream(pieces: Any) -> dict[str, float]:
    """Consume a stream of pieces, timing the first one and the rest."""
    started = time.perf_counter()
    first = None
    count = 0
    for _ in pieces:
        count += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    first = first or end
    decode = (count - 1) / (end - first) if count > 1 and end > first else 0.0
    return {"ttft": first - started, "decode_tps": decode, "tokens": count}


# -- children: one per engine ------------------------------------------------------------------


def bench_parley(engine_name: str, args: argparse.Namespace) -> dict[str, Any]:
    from pathlib import Path

    from parley.config import ModelSettings
    from parley.engines.base import Turn
    from parley.engines.factory import build_engine
    from parley.engines.formats import build_format
    from parley.engines.generation import Generation
    from parley.engines.params import GenerationParams

    data_dir = Path(args.data_dir) if args.data_dir else None
    loaded = time.perf_counter()
    engine = build_engine(ModelSettings(engine=engine_name, context_window=2048), data_dir=data_dir)
    load_s = time.perf_counter() - loaded
    fmt = build_format("auto", engine)
    prompts = [fmt.render([Turn("user", q)]) for q in QUESTIONS]
    params = GenerationParams(temperature=0, max_new_tokens=args.max_tokens)

    def one(prompt: str) -> dict[str, float]:
        return timed_stream(Generation(engine, prompt, params, fmt.stop_words))

    one(prompts[0])  # warm-up
    single = [one(prompts[i % len(prompts)]) for i in range(args.runs)]
    result: dict[str, Any] = {"load_s": round(load_s, 2), "single_stream": summarise(single)}
    for concurrency in args.concurrency:
        samples: list[dict[str, float]] = []

        def worker(index: int, out: list[dict[str, float]]) -> None:
            out.append(one(prompts[index % len(prompts)]))  # list.append is atomic

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i, samples)) for i in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        result[f"concurrent_{concurrency}"] = summarise(samples, wall)
    single_rate = result.get("concurrent_1", {}).get("total_tokens_per_s")
    four_rate = result.get("concurrent_4", {}).get("total_tokens_per_s")
    if single_rate and four_rate:
        result["speedup_4_vs_1"] = round(four_rate / single_rate, 2)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    engine.close()
    return result


def bench_bare_llama_cpp(args: argparse.Namespace) -> dict[str, Any]:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from parley.embedded import embedded_path

    llm = Llama(str(embedded_path("smollm2-135m-instruct")), n_ctx=2048, verbose=False)
    template = llm.metadata["tokenizer.chat_template"]
    formatter = Jinja2ChatFormatter(template, eos_token="<|im_end|>", bos_token="<|im_start|>")
    prompts = [formatter(messages=[{"role": "user", "content": q}]).prompt for q in QUESTIONS]

    def one(prompt: str) -> dict[str, float]:
        tokens = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        stream = llm.create_completion(
            tokens, max_tokens=args.max_tokens, temperature=0.0, stream=True, stop=[]
        )
        return timed_stream(c for c in stream if c["choices"][0]["text"])

    one(prompts[0])
    single = [one(prompts[i % len(prompts)]) for i in range(args.runs)]
    return {"single_stream": summarise(single), "peak_rss_mb": round(peak_rss_mb(), 1)}


def bench_bare_transformers(args: argparse.Namespace) -> dict[str, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    from parley.embedded import embedded_path

    path = embedded_path("smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name).eval()

    def one(question: str) -> dict[str, float]:
        prompt = tokenizer.apply_chat_template(
            [{"role": "user", "content": question}], tokenize=False, add_generation_prompt=True
        )
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        thread = threading.Thread(
            target=model.generate,
            kwargs={
                **inputs,
                "max_new_tokens": args.max_tokens,
                "do_sample": False,
                "streamer": streamer,
            },
        )
        thread.start()
        sample = timed_stream(streamer)
        thread.join()
        return sample

    one(QUESTIONS[0])
    single = [one(QUESTIONS[i % len(QUESTIONS)]) for i in range(args.runs)]
    return {"single_stream": summarise(single), "peak_rss_mb": round(peak_rss_mb(), 1)}


CHILDREN = {
    "llama.cpp": lambda a: bench_parley("llama.cpp", a),
    "transformers": lambda a: bench_parley("transformers", a),
    "bare-llama-cpp-python": bench_bare_llama_cpp,
    "bare-transformers": bench_bare_transformers,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="single-stream requests per engine")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(x) for x in s.split(",") if x],
        default=[1, 2, 4, 8],
    )
    parser.add_argument("--engines", default=",".join(CHILDREN), help="comma-separated subset")
    parser.add_argument("--data-dir", default=None, help="Parley data dir (dequantised cache)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return

    import os

    results: dict[str, Any] = {
        "model": "smollm2-135m-instruct (GGUF Q4_1)",
        "cpu_cores": os.cpu_count(),
        "max_new_tokens": args.max_tokens,
        "greedy": True,
        "engines": {},
    }
    for name in args.engines.split(","):
        command = [sys.executable, __file__, "--child", name, "--runs", str(args.runs)]
        command += ["--max-tokens", str(args.max_tokens)]
        command += ["--concurrency", ",".join(map(str, args.concurrency))]
        if args.data_dir:
            command += ["--data-dir", args.data_dir]
        print(f"benchmarking {name} ...", file=sys.stderr)
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 and not done.stdout.strip():
            results["engines"][name] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        results["engines"][name] = json.loads(done.stdout.strip().splitlines()[-1])
    engines = results["engines"]
    try:
        ours = engines["llama.cpp"]["single_stream"]["decode_tokens_per_s_per_stream"]
        bare = engines["bare-llama-cpp-python"]["single_stream"]["decode_tokens_per_s_per_stream"]
        results["llama_cpp_vs_bare_decode_ratio"] = round(ours / bare, 3)
    except (KeyError, ZeroDivisionError):
        pass
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
