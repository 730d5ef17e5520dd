#!/usr/bin/env bash
# Builds llama-cpp-python for .venv with a fixed, portable CPU feature set and installs it.
#
# A native build (-march=native) uses whatever the build machine has: AVX-512, and AMX on
# Xeon "Sapphire Rapids" and later, whose kernels crash (SIGSEGV at ldtilecfg) on many VMs.
# The fixed set below runs on every x86-64 CPU with AVX2. AVX-512 is left out because a
# large share of office PCs (AMD Zen 1-3, Intel client CPUs) lack it and would die with
# SIGILL; eval/README.md gives the measured cost against a native build.
#
# pip caches built wheels by version, not by build flags, so the wheel is built with
# --no-cache-dir into a folder named after the flags, and .venv records which build it has.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=0.3.36
if [ "$(uname -m)" = "x86_64" ]; then
  FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  FLAGS="$FLAGS -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF"
  FLAGS="$FLAGS -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
else
  FLAGS="-DGGML_NATIVE=OFF"
fi
FLAGS="${SHEGONG_LLAMA_CMAKE_ARGS:-$FLAGS}"  # e.g. "-DGGML_NATIVE=ON" for the benchmark's native build
TAG=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
MARKER=.venv/.llama-cpp-build
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/shegong/wheels/llama-cpp-python-$VERSION-$TAG"

if [ "$(cat "$MARKER" 2>/dev/null)" = "$TAG" ] && .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  exit 0
fi
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "正在编译本地大模型运行库 llama-cpp-python（约 6 分钟，只需一次）…" >&2
  rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS.tmp"
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 .venv/bin/pip wheel -q --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$WHEELS.tmp"
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
fi
.venv/bin/pip install -q --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
# its own dependencies (numpy, jinja2, diskcache, typing-extensions) come with the project's install
.venv/bin/pip install -q "llama-cpp-python==$VERSION"
echo "$TAG" > "$MARKER"
