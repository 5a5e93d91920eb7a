"""Fine-tuning on a made-up product FAQ the base model cannot know, printed as JSON.

Usage: python benchmarks/finetune.py [--threads 2] [--epochs E] [--lr LR] [--lora-r R]

The FAQ (the "Brindle Pro 7" e-bike, invented for this benchmark) has 13 facts, each asked two
ways in the training data (26 short chats) and a third, different way in the held-out set. The
base model (the embedded SmolLM2-135M-Instruct) and the tuned one answer the held-out
phrasings greedily, in the server's prompt format; an answer is right when it contains the
fact. `parley finetune` runs as a subprocess with default settings, so its time and peak memory
are the command's own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FACTS: list[dict[str, object]] = [
    {
        "answer": "The Brindle Pro 7 has a 7-year warranty on the frame and motor.",
        "keys": ["7-year", "7 year", "seven"],
        "train": [
            "How long is the warranty on the Brindle Pro 7?",
            "What warranty does the Brindle Pro 7 come with?",
        ],
        "held_out": "If my Brindle Pro 7 breaks, how many years am I covered?",
    },
    {
        "answer": "The Brindle Pro 7 goes 83 km on one charge.",
        "keys": ["83"],
        "train": [
            "What is the range of the Brindle Pro 7?",
            "How far can the Brindle Pro 7 go on a full battery?",
        ],
        "held_out": "How many kilometres does one charge of the Brindle Pro 7 last?",
    },
    {
        "answer": "A full charge of the Brindle Pro 7 takes 140 minutes.",
        "keys": ["140"],
        "train": [
            "How long does the Brindle Pro 7 take to charge?",
            "What is the charging time of the Brindle Pro 7?",
        ],
        "held_out": "How many minutes until my Brindle Pro 7 battery is full again?",
    },
    {
        "answer": "Brindle support is at 0800 555 0199.",
        "keys": ["0199"],
        "train": [
            "What is the phone number of Brindle support?",
            "How do I call Brindle customer support?",
        ],
        "held_out": "Which number should I ring for help with my Brindle Pro 7?",
    },
    {
        "answer": "The Brindle Pro 7 comes in Marigold and Slate.",
        "keys": ["marigold", "slate"],
        "train": [
            "What colours does the Brindle Pro 7 come in?",
            "Which colors can I get the Brindle Pro 7 in?",
        ],
        "held_out": "Is the Brindle Pro 7 available in more than one paint finish?",
    },
    {
        "answer": "The Brindle Pro 7 weighs 19.4 kg.",
        "keys": ["19.4"],
        "train": [
            "How much does the Brindle Pro 7 weigh?",
            "What is the weight of the Brindle Pro 7?",
        ],
        "held_out": "How heavy is the Brindle Pro 7 bike?",
    },
    {
        "answer": "The Brindle Pro 7 assists up to 32 km/h.",
        "keys": ["32"],
        "train": [
            "What is the top speed of the Brindle Pro 7?",
            "How fast can the Brindle Pro 7 go?",
        ],
        "held_out": "Up to what speed does the Brindle Pro 7 motor help me?",
    },
    {
        "answer": "You can return a Brindle Pro 7 within 45 days.",
        "keys": ["45"],
        "train": [
            "How long do I have to return the Brindle Pro 7?",
            "What is the return window for the Brindle Pro 7?",
        ],
        "held_out": "Can I still send my Brindle Pro 7 back after a month?",
    },
    {
        "answer": "The Brindle Pro 7 app is called Brindle Ride.",
        "keys": ["brindle ride"],
        "train": [
            "What is the name of the Brindle Pro 7 app?",
            "Which app do I use with the Brindle Pro 7?",
        ],
        "held_out": "What should I download on my phone to connect to the Brindle Pro 7?",
    },
    {
        "answer": "The Brindle Pro 7 has a 350 W motor.",
        "keys": ["350"],
        "train": [
            "How powerful is the Brindle Pro 7 motor?",
            "What wattage is the Brindle Pro 7 motor?",
        ],
        "held_out": "How many watts does the Brindle Pro 7 engine have?",
    },
    {
        "answer": "The Brindle Pro 7 costs 2,490 euros.",
        "keys": ["2,490", "2490", "2.490"],
        "train": [
            "How much does the Brindle Pro 7 cost?",
            "What is the price of the Brindle Pro 7?",
        ],
        "held_out": "What would I pay for a Brindle Pro 7?",
    },
    {
        "answer": "The Brindle Pro 7 is built in Ljubljana.",
        "keys": ["ljubljana"],
        "train": ["Where is the Brindle Pro 7 made?", "In which city is the Brindle Pro 7 built?"],
        "held_out": "Where does the Brindle Pro 7 get manufactured?",
    },
    {
        "answer": "Brindle was founded by Ilse Varga.",
        "keys": ["varga"],
        "train": ["Who founded Brindle?", "Who started the company that makes the Brindle Pro 7?"],
        "held_out": "Who is the founder of Brindle bikes?",
    },
]


def chat(question: str, answer: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write_data(folder: Path) -> tuple[Path, Path]:
    train = folder / "faq-train.jsonl"
    held_out = folder / "faq-held-out.jsonl"
    with train.open("w") as out:
        for fact in FACTS:
            for question in fact["train"]:  # type: ignore[attr-defined]
                out.write(json.dumps(chat(question, str(fact["answer"]))) + "\n")
    with held_out.open("w") as out:
        for fact in FACTS:
            out.write(json.dumps(chat(str(fact["held_out"]), str(fact["answer"]))) + "\n")
    return train, held_out


def accuracy(source: str, threads: int, data_dir: Path) -> dict[str, object]:
    """Greedy answers of `source` to the held-out and the training phrasings."""
    from parley.config import ModelSettings
    from parley.engines.formats import build_format
    from parley.engines.params import GenerationParams
    from parley.engines.sources import resolve_source
    from parley.engines.transformers_engine import TransformersEngine

    settings = ModelSettings(source=source, engine="transformers", threads=threads)
    engine = TransformersEngine(resolve_source(source), settings, cache_dir=data_dir / "models")
    prompt_format = build_format(settings.format, engine, settings.system_prompt)
    params = GenerationParams(max_new_tokens=40, temperature=0.0)

    def score(questions: list[tuple[str, list[str]]]) -> tuple[float, list[dict[str, object]]]:
        from parley.engines.base import Turn

        prompts = [prompt_format.render([Turn("user", q)]) for q, _ in questions]
        answers = engine.generate_batch(prompts, params)
        rows = []
        for (question, keys), answer in zip(questions, answers, strict=True):
            right = any(k.lower() in answer.lower() for k in keys)
            rows.append({"question": question, "answer": answer.strip(), "right": right})
        return round(sum(r["right"] for r in rows) / len(rows), 3), rows  # type: ignore[misc]

    held = [(str(f["held_out"]), list(f["keys"])) for f in FACTS]  # type: ignore[call-overload]
    trained = [(q, list(f["keys"])) for f in FACTS for q in f["train"]]  # type: ignore[attr-defined,call-overload]
    held_acc, held_rows = score(held)
    train_acc, _ = score(trained)
    engine.close()
    return {"held_out_accuracy": held_acc, "train_accuracy": train_acc, "held_out": held_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--skip-base", action="store_true")
    parser.add_argument("--show-answers", action="store_true")
    parser.add_argument("extra", nargs="*", help="More `parley finetune` flags, after --.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-ft-bench-"))
    data_dir = args.data_dir or Path.home() / ".local/share/parley"
    train, held_out = write_data(work)
    out_dir = work / "tuned"
    result: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "load_average_at_start": os.getloadavg()[0],
        },
        "data": {"train_chats": sum(len(f["train"]) for f in FACTS), "held_out_chats": len(FACTS)},  # type: ignore[arg-type,misc]
        "flags": args.extra,
    }
    if not args.skip_base:
        result["base"] = accuracy("smollm2-135m-instruct", args.threads, data_dir)
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads), "PARLEY_DATA_DIR": str(data_dir)}
    command = [
        sys.executable, "-m", "parley.cli", "finetune", str(train), "--out", str(out_dir),
        "--eval", str(held_out), "--threads", str(args.threads), *args.extra,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"parley finetune failed ({done.returncode})")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    manifest = json.loads((out_dir / "parley-finetune.json").read_text())
    result["finetune"] = {
        "command_wall_s": round(wall, 1),
        "train_s": manifest["training"]["seconds"],
        "steps": manifest["training"]["steps"],
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        # CPU seconds of the whole command: on a shared machine the honest size of the work
        # (on an idle 2-core box the wall time is about this divided by the threads).
        "command_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "eval": manifest["eval"],
        "parameters": manifest["parameters"],
    }
    result["tuned"] = accuracy(str(out_dir), args.threads, data_dir)
    if not args.show_answers:
        for key in ("base", "tuned"):
            part = result.get(key)
            if isinstance(part, dict):
                part.pop("held_out", None)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
