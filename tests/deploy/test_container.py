"""The container's `serve` entry (docker/serve) on an artifact unpacked as SageMaker does.

No Docker engine runs here, so the image itself is not built; the script it runs is, against
the same /opt/ml/model layout, as a real process answering /ping and /invocations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from parley.deploy.container import ContainerError, find_model_dir, read_properties
from tests.server.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_serve_script_answers_the_sagemaker_contract(sagemaker_model_dir: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PARLEY_MODEL_DIR": str(sagemaker_model_dir),
        "SAGEMAKER_BIND_TO_PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    process = subprocess.Popen(
        [str(REPO / "docker" / "serve")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, process.stdout.read().decode()[-3000:]  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the container's server did not start"
            time.sleep(0.5)
        # curl -d sends this content type; SageMaker passes it through unchanged.
        reply = httpx.post(
            f"{url}/invocations",
            json={
                "inputs": "When does the maritime museum open?",
                "parameters": {"temperature": 0, "max_new_tokens": 16},
            },
            timeout=120,
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["outputs"].strip() and body["session_id"]
        assert any(s["title"] == "Maritime museum" for s in body["sources"])
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_model_dir_lookup(tmp_path: Path) -> None:
    with pytest.raises(ContainerError, match="does not exist"):
        find_model_dir(tmp_path / "missing")
    with pytest.raises(ContainerError, match="found none"):
        find_model_dir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "parley.toml").write_text("")
    assert find_model_dir(tmp_path) == tmp_path / "a"
    (tmp_path / "parley.toml").write_text("")
    assert find_model_dir(tmp_path) == tmp_path


def test_properties_reader_reports_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "serving.properties"
    path.write_text("# comment\nengine=Python\noption.dtype = fp16\nbroken line\n")
    with pytest.raises(ContainerError, match=r"serving.properties:4: expected key=value"):
        read_properties(path)
    path.write_text("engine=Python\noption.dtype = fp16\n")
    assert read_properties(path) == {"engine": "Python", "option.dtype": "fp16"}
