"""The `llama-server` engine: llama.cpp's own server as a child process that Parley manages.

llama.cpp's server decodes the requests of its parallel slots together (continuous
batching), which one in-process llama.cpp context cannot. Parley starts it on a private
loopback port with a random API key, waits for its health, restarts it when it dies (requests
in flight then fail with a 503; later ones succeed) and never leaves it behind: the child asks
the kernel to kill it when its parent dies (PR_SET_PDEATHSIG), SIGKILL included. Requests go
through the `openai` engine's client.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from parley.embedded import machine_cache_dir
from parley.engines.base import EngineError, EngineUnavailable
from parley.engines.gguf_files import gguf_context_length, gguf_source
from parley.engines.openai_engine import OpenAIEngine
from parley.engines.upstream import UpstreamClient

if TYPE_CHECKING:
    from parley.engines.base import TokenPiece
    from parley.engines.params import GenerationParams
    from parley.engines.settings import ModelSettings
    from parley.registry import Shared

log = logging.getLogger("parley")

DEFAULT_SLOT_CONTEXT = 4096  # as the in-process engine: 4096 tokens of SmolLM2 KV take ~95 MB
STARTUP_TIMEOUT = 120.0
PROMPT_CACHE_MIB = 256  # llama-server keeps up to 8 GiB of old prompts in RAM by default
PR_SET_PDEATHSIG = 1


def find_llama_server(explicit: str | None) -> Path | None:
    """The `llama-server` binary: `explicit`, `$PARLEY_LLAMA_SERVER`, set-up's build, PATH."""
    for candidate in (explicit, os.environ.get("PARLEY_LLAMA_SERVER")):
        if candidate:
            path = Path(candidate).expanduser()
            return path if path.is_file() and os.access(path, os.X_OK) else None
    built = sorted(
        machine_cache_dir().glob("llama-server-*/llama-server"),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    if built:
        return built[0]
    on_path = shutil.which("llama-server")
    return Path(on_path) if on_path else None


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: be killed when the thread that started us dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class ManagedLlamaServer:
    """Runs, watches and restarts one `llama-server` child on a loopback port."""

    def __init__(
        self,
        binary: Path,
        arguments: Sequence[str],
        *,
        log_path: Path,
        startup_timeout: float = STARTUP_TIMEOUT,
    ) -> None:
        self.binary = binary
        self.port = _free_loopback_port()
        self.api_key = secrets.token_urlsafe(24)
        self.arguments = [
            *arguments,
            *("--host", "127.0.0.1", "--port", str(self.port), "--api-key", self.api_key),
        ]
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.last_exit: int | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._failure: str | None = None
        self._started = threading.Event()
        # The supervisor thread starts every child: PR_SET_PDEATHSIG fires when the thread
        # that forked the child ends, so it must be one that lives as long as the server.
        self._supervisor = threading.Thread(
            target=self._supervise, name="llama-server-supervisor", daemon=True
        )
        atexit.register(_stop_at_exit, weakref.ref(self))

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        """Start the child and wait until it is healthy; an error with its log if it fails."""
        self._supervisor.start()
        self._started.wait()
        if not self._ready.wait(self.startup_timeout):
            self.stop()
            raise EngineError(
                f"llama-server did not become healthy within {self.startup_timeout:.0f} s; "
                f"its log ({self.log_path}) ends with:\n{self.log_tail()}"
            )
        if self._failure is not None:
            self.stop()
            raise EngineError(self._failure)

    def wait_ready(self) -> None:
        """Block until the child is healthy (it may be restarting); 503 if it does not come."""
        if self._ready.is_set() and self._failure is None:
            return
        if self._stopping.is_set():
            raise EngineUnavailable("the llama-server engine is shut down")
        if not self._ready.wait(self.startup_timeout) or self._failure is not None:
            raise EngineUnavailable(
                self._failure
                or f"llama-server is restarting (it exited with code {self.last_exit})"
            )

    def _supervise(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                self._spawn()
            except OSError as exc:
                self._fail(f"cannot start {self.binary}: {exc}")
                return
            finally:
                self._started.set()
            if self._wait_healthy():
                self._ready.set()
            assert self.process is not None
            code = self.process.wait()
            self._ready.clear()
            self.last_exit = code
            if self._stopping.is_set():
                return
            if self.restarts == 0 and not self._ever_healthy:
                self._fail(
                    f"llama-server exited with code {code} while starting; its log "
                    f"({self.log_path}) ends with:\n{self.log_tail()}"
                )
                return
            failures = failures + 1 if time.monotonic() - began < 10 else 0
            self.restarts += 1
            log.warning(
                "llama-server (pid %s) exited with code %s; restarting it (restart %d)",
                self.process.pid,
                code,
                self.restarts,
            )
            if failures:
                self._stopping.wait(min(10.0, 0.5 * 2**failures))

    _ever_healthy = False

    def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        output: IO[bytes] = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        parent = os.getpid()
        try:
            self.process = subprocess.Popen(
                [str(self.binary), *self.arguments],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=lambda: _die_with_parent(parent),
                close_fds=True,
            )
        finally:
            output.close()
        log.debug("started llama-server pid %d on port %d", self.process.pid, self.port)

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        assert self.process is not None
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline and not self._stopping.is_set():
                if self.process.poll() is not None:
                    return False
                try:
                    if client.get(f"{self.url}/health").status_code == 200:
                        self._ever_healthy = True
                        return True
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        return False

    def _fail(self, message: str) -> None:
        self._failure = message
        self._stopping.set()
        self._ready.set()  # wake the waiters: they see the failure

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, grace: float = 5.0) -> None:
        """Stop the child (SIGTERM, then SIGKILL after `grace` seconds) and the supervisor."""
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._supervisor.is_alive() and self._supervisor is not threading.current_thread():
            self._supervisor.join(grace)


def _stop_at_exit(ref: weakref.ReferenceType[ManagedLlamaServer]) -> None:
    server = ref()
    if server is not None:
        server.stop(grace=2.0)


def server_arguments(
    model: Path,
    *,
    parallel: int,
    slot_context: int,
    threads: int,
    batch_threads: int,
) -> list[str]:
    """llama-server's flags: `parallel` slots of `slot_context` tokens each, decoded together."""
    return [
        *("--model", str(model)),
        *("--ctx-size", str(parallel * slot_context)),
        *("--parallel", str(parallel)),
        "--no-kv-unified",  # each slot its own window: one long prompt cannot evict another
        "--cont-batching",
        *("--threads", str(threads)),
        *("--threads-batch", str(batch_threads)),
        *("--cache-ram", str(PROMPT_CACHE_MIB)),
        "--no-webui",
        "--jinja",
    ]


REUSE_MIN_CHARS = 1000
"""A free slot holding a prompt that shares this many more leading characters with the new one
than the lowest free slot's is taken instead (~250 tokens, ~0.35 s of prompt on 2 cores): a
conversation's next turn finds its history still computed there."""


class SlotPicker:
    """A slot for each request to a llama-server only Parley sends to: the lowest free one.

    llama.cpp attends, at each step, over every slot between the lowest and the highest busy
    one (the slots' caches are one tensor, viewed as a range), and llama-server gives a request
    the least recently used slot; so after a busy spell a few streams end up spread over all
    the slots, each step attending over idle ones too. Measured on 2 cores, 32 slots: 8 streams
    of 32 tokens took 1.6-1.8 s after a 32-stream burst, 1.1 s packed. The exception is a slot
    that still holds most of the new prompt (`REUSE_MIN_CHARS`), as llama-server would pick
    it. A request that finds every slot taken goes unpinned: the server queues it as before.
    """

    def __init__(self, count: int) -> None:
        self._free = set(range(count))
        self._held = [""] * count  # the prompt each slot last read
        self._lock = threading.Lock()

    @contextmanager
    def claim(self, prompt: str = "") -> Iterator[int | None]:
        """A free slot's id (None when all are taken), free again when the block ends."""
        with self._lock:
            slot = self._pick(prompt) if self._free else None
            if slot is not None:
                self._free.discard(slot)
                self._held[slot] = prompt
        try:
            yield slot
        finally:
            if slot is not None:
                with self._lock:
                    self._free.add(slot)

    def _pick(self, prompt: str) -> int:
        lowest = min(self._free)
        shared = {slot: _common_prefix(self._held[slot], prompt) for slot in self._free}
        best = max(sorted(shared), key=shared.__getitem__)
        return best if shared[best] - shared[lowest] >= REUSE_MIN_CHARS else lowest


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of `a` and `b`, by bisection on slices (each
    comparison runs in C: 32 slots of 16,000-character prompts take well under a ms)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


class LlamaServerEngine(OpenAIEngine):
    """A GGUF model on a `llama-server` child process that Parley starts and watches."""

    name = "llama-server"

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, *, shared: Shared | None = None
    ) -> LlamaServerEngine:
        """Start llama-server on `settings.source` (a GGUF) and connect to it."""
        data_dir = shared.data_dir if shared is not None else None
        source = gguf_source(settings)
        if not source.is_gguf or source.path is None:
            raise EngineError(
                f"the llama-server engine needs a .gguf model, got {source.spec!r}; "
                "use engine 'transformers' for Hugging Face models"
            )
        binary = find_llama_server(settings.llama_server)
        if binary is None:
            raise EngineError(
                "the llama-server engine needs llama.cpp's `llama-server` binary: run "
                "scripts/setup.sh (it builds it), or set model.llama_server / "
                "PARLEY_LLAMA_SERVER to one, or use engine 'llama.cpp'"
            )
        if settings.device_map or settings.load_in or settings.gpu_memory:
            raise EngineError(
                "device_map, gpu_memory and load_in are transformers options; "
                "llama-server runs the GGUF's own quantisation on the CPU"
            )
        slot_context = settings.context_window or _model_context(source.path)
        cores = os.cpu_count() or 1
        threads = settings.threads or cores
        arguments = server_arguments(
            source.path,
            parallel=settings.parallel,
            slot_context=slot_context,
            threads=threads,
            batch_threads=max(threads, cores),
        )
        folder = (data_dir or Path(tempfile.gettempdir())) / "logs"
        managed = ManagedLlamaServer(
            binary, arguments, log_path=folder / f"llama-server-{os.getpid()}.log"
        )
        managed.start()
        client = UpstreamClient(
            f"{managed.url}/v1",
            managed.api_key,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries=settings.retries,
            before_request=managed.wait_ready,
        )
        try:
            engine = cls(client, settings.model_copy(update={"context_window": slot_context}))
        except BaseException:
            managed.stop()
            raise
        engine.managed = managed
        engine.source = source
        engine.slots = SlotPicker(settings.parallel)
        return engine

    managed: ManagedLlamaServer
    slots: SlotPicker

    def stream(self, prompt: str, params: GenerationParams) -> Generator[TokenPiece, None, None]:
        with self.slots.claim(prompt) as slot:
            body = self.completion_body(prompt, params)
            if slot is not None:
                body["id_slot"] = slot
            yield from self.stream_request(body)

    def describe(self) -> dict[str, Any]:
        """The child's state, for `/health`."""
        return {"pid": self.managed.pid, "restarts": self.managed.restarts}

    def close(self) -> None:
        super().close()
        self.managed.stop()


def _model_context(path: Path) -> int:
    """The model's trained window, capped as the in-process engine caps it."""
    try:
        return min(gguf_context_length(path), DEFAULT_SLOT_CONTEXT)
    except ImportError:  # llama-cpp-python is optional; llama-server caps at the model's own
        return DEFAULT_SLOT_CONTEXT
