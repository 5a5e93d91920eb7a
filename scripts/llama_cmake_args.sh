#!/usr/bin/env bash
# Prints CMAKE_ARGS for building llama-cpp-python on this CPU.
# A native build (llama.cpp's default) enables the AMX kernels, which crash on some
# virtualised CPUs that advertise AMX (see DESIGN.md), so we turn native detection off
# and enable the SIMD levels /proc/cpuinfo reports, AMX excluded.
set -euo pipefail
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
args="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
has() { [[ " $flags " == *" $1 "* ]]; }
opt() { if has "$1"; then args+=" -D$2=ON"; else args+=" -D$2=OFF"; fi; }
opt avx GGML_AVX
opt avx2 GGML_AVX2
opt fma GGML_FMA
opt f16c GGML_F16C
opt bmi2 GGML_BMI2
opt avx_vnni GGML_AVX_VNNI
opt avx512f GGML_AVX512
opt avx512vbmi GGML_AVX512_VBMI
opt avx512_vnni GGML_AVX512_VNNI
opt avx512_bf16 GGML_AVX512_BF16
echo "$args"
