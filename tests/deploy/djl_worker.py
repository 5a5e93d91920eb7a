"""Plays DJL Serving's Python engine in a fresh process: loads `model.py` from a model folder,
makes the load call with the folder's properties, then one call per request read from stdin
(a JSON list of raw bodies; null sends an empty input). Prints one JSON object: the responses,
how many generations the engine ran, and where `parley` was imported from."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent / "standin"))

from djl_python import run_request


def main() -> None:
    model_dir = Path(sys.argv[1])
    requests: list[str | None] = json.loads(sys.stdin.read())
    properties = {"model_dir": str(model_dir)}
    for line in (model_dir / "serving.properties").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip():
            # DJL hands the handler its options without the `option.` prefix.
            properties[key.strip().removeprefix("option.")] = value.strip()
    spec = importlib.util.spec_from_file_location("model", model_dir / "model.py")
    assert spec is not None and spec.loader is not None
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)

    load = run_request(model.handle, properties)
    engine = model._handler.service.engine
    generations = 0
    original = engine.stream

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal generations
        generations += 1
        return original(*args, **kwargs)

    engine.stream = counted
    responses = []
    for body in requests:
        response = run_request(
            model.handle, properties, None if body is None else body.encode("utf-8")
        )
        if response is None:
            responses.append(None)
            continue
        responses.append(
            {
                "code": response.code,
                "properties": response.properties,
                "body": response.body.decode("utf-8"),
                "chunks": [c.decode("utf-8") for c in response.chunks],
            }
        )
    import parley

    print(
        json.dumps(
            {
                "load": load,
                "responses": responses,
                "generations": generations,
                "parley_file": parley.__file__,
            }
        )
    )


if __name__ == "__main__":
    main()
