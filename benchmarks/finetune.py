"""Fine-tuning on a made-up product FAQ the base model cannot know, printed as JSON.

Usage: python benchmarks/finetune.py [--threads 2] [-- more `parley finetune` flags]

The FAQ (the "Brindle Pro 7" e-bike, invented for this benchmark) has 13 facts. Each is asked
two ways in the training data (26 short chats), a third way in the dev set (for choosing
`parley finetune`'s defaults, and its held-out loss figure) and a fourth way in the held-out
set, which nothing is chosen on and which is never trained on. The base model (the embedded
SmolLM2-135M-Instruct) and the tuned one answer greedily, in the server's prompt format; an
answer is right when it contains the fact. `parley finetune` runs as a subprocess with default
settings (unless flags follow `--`), so its time and peak memory are the command's own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fact:
    """One FAQ fact, its answer and the ways it is asked in each part."""

    answer: str
    keys: tuple[str, ...]
    """An answer is right when it contains one of these (case-insensitive)."""
    train: tuple[str, ...]
    dev: str
    held_out: str


FACTS: list[Fact] = [
    Fact(
        answer="The Brindle Pro 7 has a 7-year warranty on the frame and motor.",
        keys=("7-year", "7 year", "seven"),
        train=(
            "How long is the warranty on the Brindle Pro 7?",
            "What warranty does the Brindle Pro 7 come with?",
        ),
        dev="For how many years is the Brindle Pro 7 guaranteed?",
        held_out="If my Brindle Pro 7 breaks, how many years am I covered?",
    ),
    Fact(
        answer="The Brindle Pro 7 goes 83 km on one charge.",
        keys=("83",),
        train=(
            "What is the range of the Brindle Pro 7?",
            "How far can the Brindle Pro 7 go on a full battery?",
        ),
        dev="How long a ride can I do on the Brindle Pro 7 before recharging?",
        held_out="How many kilometres does one charge of the Brindle Pro 7 last?",
    ),
    Fact(
        answer="A full charge of the Brindle Pro 7 takes 140 minutes.",
        keys=("140",),
        train=(
            "How long does the Brindle Pro 7 take to charge?",
            "What is the charging time of the Brindle Pro 7?",
        ),
        dev="When I plug in my Brindle Pro 7, how long until it is charged?",
        held_out="How many minutes until my Brindle Pro 7 battery is full again?",
    ),
    Fact(
        answer="Brindle support is at 0800 555 0199.",
        keys=("0199",),
        train=(
            "What is the phone number of Brindle support?",
            "How do I call Brindle customer support?",
        ),
        dev="I need help from Brindle; what number do I dial?",
        held_out="Which number should I ring for help with my Brindle Pro 7?",
    ),
    Fact(
        answer="The Brindle Pro 7 comes in Marigold and Slate.",
        keys=("marigold", "slate"),
        train=(
            "What colours does the Brindle Pro 7 come in?",
            "Which colors can I get the Brindle Pro 7 in?",
        ),
        dev="What colour options are there for the Brindle Pro 7?",
        held_out="Is the Brindle Pro 7 available in more than one paint finish?",
    ),
    Fact(
        answer="The Brindle Pro 7 weighs 19.4 kg.",
        keys=("19.4",),
        train=(
            "How much does the Brindle Pro 7 weigh?",
            "What is the weight of the Brindle Pro 7?",
        ),
        dev="How many kilograms is the Brindle Pro 7?",
        held_out="How heavy is the Brindle Pro 7 bike?",
    ),
    Fact(
        answer="The Brindle Pro 7 assists up to 32 km/h.",
        keys=("32",),
        train=(
            "What is the top speed of the Brindle Pro 7?",
            "How fast can the Brindle Pro 7 go?",
        ),
        dev="What is the maximum assisted speed of the Brindle Pro 7?",
        held_out="Up to what speed does the Brindle Pro 7 motor help me?",
    ),
    Fact(
        answer="You can return a Brindle Pro 7 within 45 days.",
        keys=("45",),
        train=(
            "How long do I have to return the Brindle Pro 7?",
            "What is the return window for the Brindle Pro 7?",
        ),
        dev="How many days do I get to return a Brindle Pro 7?",
        held_out="Can I still send my Brindle Pro 7 back after a month?",
    ),
    Fact(
        answer="The Brindle Pro 7 app is called Brindle Ride.",
        keys=("brindle ride",),
        train=(
            "What is the name of the Brindle Pro 7 app?",
            "Which app do I use with the Brindle Pro 7?",
        ),
        dev="Is there a phone app for the Brindle Pro 7, and what is it called?",
        held_out="What should I download on my phone to connect to the Brindle Pro 7?",
    ),
    Fact(
        answer="The Brindle Pro 7 has a 350 W motor.",
        keys=("350",),
        train=(
            "How powerful is the Brindle Pro 7 motor?",
            "What wattage is the Brindle Pro 7 motor?",
        ),
        dev="What is the motor power of the Brindle Pro 7?",
        held_out="How many watts does the Brindle Pro 7 engine have?",
    ),
    Fact(
        answer="The Brindle Pro 7 costs 2,490 euros.",
        keys=("2,490", "2490", "2.490"),
        train=(
            "How much does the Brindle Pro 7 cost?",
            "What is the price of the Brindle Pro 7?",
        ),
        dev="How expensive is the Brindle Pro 7?",
        held_out="What would I pay for a Brindle Pro 7?",
    ),
    Fact(
        answer="The Brindle Pro 7 is built in Ljubljana.",
        keys=("ljubljana",),
        train=("Where is the Brindle Pro 7 made?", "In which city is the Brindle Pro 7 built?"),
        dev="Which country and city is the Brindle Pro 7 produced in?",
        held_out="Where does the Brindle Pro 7 get manufactured?",
    ),
    Fact(
        answer="Brindle was founded by Ilse Varga.",
        keys=("varga",),
        train=("Who founded Brindle?", "Who started the company that makes the Brindle Pro 7?"),
        dev="Who created the Brindle company?",
        held_out="Who is the founder of Brindle bikes?",
    ),
]


PARTS = ("train", "dev", "held_out")


def questions(part: str) -> list[tuple[str, Fact]]:
    """(question, fact) for every phrasing of `part`."""
    if part == "train":
        return [(q, f) for f in FACTS for q in f.train]
    return [(getattr(f, part), f) for f in FACTS]


def _norm(question: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", question.lower()).split())


def check_split() -> None:
    """The benchmark is only honest if no dev or held-out phrasing is also a training one."""
    trained = {_norm(q) for q, _ in questions("train")}
    for part in ("dev", "held_out"):
        leaked = [q for q, _ in questions(part) if _norm(q) in trained]
        if leaked:
            raise SystemExit(f"{part} phrasings also in train: {leaked}")
    if {_norm(q) for q, _ in questions("dev")} & {_norm(q) for q, _ in questions("held_out")}:
        raise SystemExit("a dev phrasing is also a held-out one")


def chat(question: str, answer: str) -> dict[str, object]:
    return {
        "messages": [
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
    }


def write_part(folder: Path, part: str) -> Path:
    path = folder / f"faq-{part}.jsonl"
    with path.open("w") as out:
        for question, fact in questions(part):
            out.write(json.dumps(chat(question, fact.answer)) + "\n")
    return path


def accuracy(
    source: str, threads: int, data_dir: Path, device_map: str | None = None
) -> dict[str, object]:
    """Greedy answers of `source` to every part's phrasings, and the share that are right."""
    from parley.config import ModelSettings
    from parley.engines.base import Turn
    from parley.engines.formats import build_format
    from parley.engines.params import GenerationParams
    from parley.engines.sources import resolve_source
    from parley.engines.transformers_engine import TransformersEngine

    settings = ModelSettings(
        source=source, engine="transformers", threads=threads, device_map=device_map
    )
    began = time.perf_counter()
    engine = TransformersEngine(resolve_source(source), settings, cache_dir=data_dir / "models")
    result: dict[str, object] = {
        "load_s": round(time.perf_counter() - began, 1),
        "device": str(engine.device),
        "dtype": str(engine.model.dtype),
    }
    prompt_format = build_format(settings.format, engine, settings.system_prompt)
    params = GenerationParams(max_new_tokens=40, temperature=0.0)
    for part in PARTS:
        asked = questions(part)
        prompts = [prompt_format.render([Turn("user", q)]) for q, _ in asked]
        answers = engine.generate_batch(prompts, params)
        rows = [
            {
                "question": question,
                "answer": answer.strip(),
                "right": any(k.lower() in answer.lower() for k in fact.keys),
            }
            for (question, fact), answer in zip(asked, answers, strict=True)
        ]
        result[f"{part}_accuracy"] = round(sum(bool(r["right"]) for r in rows) / len(rows), 3)
        result[f"{part}_answers"] = rows
    engine.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--skip-base", action="store_true")
    parser.add_argument("--show-answers", action="store_true")
    parser.add_argument(
        "--device-map", help="transformers device_map for the answers (e.g. auto on GPUs)"
    )
    parser.add_argument("extra", nargs="*", help="More `parley finetune` flags, after --.")
    args = parser.parse_args()
    check_split()
    work = Path(tempfile.mkdtemp(prefix="parley-ft-bench-"))
    data_dir = args.data_dir or Path(
        os.environ.get("PARLEY_DATA_DIR", Path.home() / ".local/share/parley")
    )
    train, dev = write_part(work, "train"), write_part(work, "dev")
    out_dir = work / "tuned"
    result: dict[str, object] = {
        "machine": {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "load_average_at_start": os.getloadavg()[0],
        },
        "data": {part: len(questions(part)) for part in PARTS},
        "flags": args.extra,
    }
    if not args.skip_base:
        result["base"] = accuracy("smollm2-135m-instruct", args.threads, data_dir, args.device_map)
    env = os.environ | {"OMP_NUM_THREADS": str(args.threads), "PARLEY_DATA_DIR": str(data_dir)}
    command = [
        sys.executable, "-m", "parley.cli", "finetune", str(train), "--out", str(out_dir),
        "--eval", str(dev), "--threads", str(args.threads), *args.extra,
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
        "dev_loss": manifest["eval"],
        "parameters": manifest["parameters"],
        "machine": manifest["machine"],
    }
    result["tuned"] = accuracy(str(out_dir), args.threads, data_dir, args.device_map)
    for key in ("base", "tuned"):
        part = result.get(key)
        if isinstance(part, dict) and not args.show_answers:
            for name in PARTS:
                part.pop(f"{name}_answers", None)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
