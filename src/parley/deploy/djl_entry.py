"""DJL Serving entry point for Parley (written as `model.py` by `parley deploy djl`).

DJL's Python engine (engine=Python, option.entryPoint=model.py) calls `handle` for every request;
the first call carries the model's properties and builds Parley's chat service. The Parley code
this artifact was made with sits beside this file in `python/`.
"""

import sys
from pathlib import Path

_VENDORED = Path(__file__).resolve().parent / "python"
if _VENDORED.is_dir() and str(_VENDORED) not in sys.path:
    sys.path.insert(0, str(_VENDORED))

from djl_python import Input, Output  # noqa: E402  (after the path above)

from parley.deploy.djl_handler import DjlHandler  # noqa: E402

_handler = DjlHandler(Output)


def handle(inputs: Input) -> Output | None:
    """Answer one request; None for DJL's load call and for empty inputs."""
    return _handler.handle(inputs)
