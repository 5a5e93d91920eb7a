"""Make the `replies` moderation part: real replies of the served model, to be judged as streamed.

Usage:
    # a server on the embedded defaults with moderation and retrieval off, so replies are raw:
    PARLEY_MODERATION__MODERATOR=none PARLEY_RETRIEVAL__ENABLED=false parley serve --port 8011
    python scripts/moderation_replies.py REQUESTS.jsonl --url http://127.0.0.1:8011 \
        [--out src/parley/data/moderation/parley_moderation.replies.jsonl]

REQUESTS.jsonl has one `{"text", "label", "kind"}` a line; `label` is `harmless` or `harmful`
(the request's). Each request gets one reply (temperature 0.7, 160 tokens, a seed per request,
through `/v1/chat/completions`). A reply to a harmless request is labelled `casual` (a cut is a
false cut); a reply to a harmful request is written with the label `--harmful-label` (default
`needs intervention`), and must be read before it ships: a small model's reply to a harmful
request is often a refusal or nonsense. The shipped part keeps only those that comply (a cut of
the others costs the user nothing: a refusal either way), so its false cuts are of replies to
harmless requests and its recall is of harmful replies. `--append` adds to `--out`. The request
is kept beside the reply.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.progress import track


def reply(client: httpx.Client, url: str, request: str) -> str:
    """One reply of the served model, seeded by the request so a rerun asks the same."""
    seed = int(hashlib.sha256(request.encode()).hexdigest()[:8], 16)
    body = {
        "messages": [{"role": "user", "content": request}],
        "max_tokens": 160,
        "temperature": 0.7,
        "seed": seed,
    }
    response = client.post(f"{url}/v1/chat/completions", json=body, timeout=300)
    response.raise_for_status()
    return str(response.json()["choices"][0]["message"]["content"]).strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("requests", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8011")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("src/parley/data/moderation/parley_moderation.replies.jsonl"),
    )
    parser.add_argument("--harmful-label", default="needs intervention")
    parser.add_argument("--clients", type=int, default=4, help="Requests in flight at once.")
    parser.add_argument("--append", action="store_true", help="Add to --out, do not replace.")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.requests.read_text().splitlines() if line.strip()]
    with httpx.Client() as client, ThreadPoolExecutor(args.clients) as pool:
        texts = list(
            track(
                pool.map(lambda row: reply(client, args.url, row["text"]), rows),
                total=len(rows),
                description="replies",
            )
        )
    with args.out.open("a" if args.append else "w", encoding="utf-8") as out:
        for row, text in zip(rows, texts, strict=True):
            harmful = row["label"] == "harmful"
            record = {
                "text": "Bot: " + text,
                "label": args.harmful_label if harmful else "casual",
                "kind": "reply to a harmful request" if harmful else "reply to a harmless request",
                "request": row["text"],
            }
            if harmful and row.get("kind"):
                record["hazard"] = row["kind"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(rows)}")


if __name__ == "__main__":
    main()
