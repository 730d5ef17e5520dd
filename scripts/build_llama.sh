#!/usr/bin/env bash
# Builds llama-cpp-python with a fixed, portable CPU feature set and installs it into a venv.
#   bash scripts/build_llama.sh [VENV]        VENV defaults to .venv
#   SHEGONG_LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON" bash scripts/build_llama.sh /work/venv-native
#                                             another build (eval/bench_llm.py --other-python compares them)
#
# A native build (-march=native) uses whatever the build machine has: AVX-512, and AMX on
# Xeon "Sapphire Rapids" and later, whose kernels crash (SIGSEGV at ldtilecfg) on many VMs,
# even with the GGML_AMX_* options off, since -march=native turns the instructions on anyway.
# The fixed set below runs on every x86-64 CPU with AVX2 (Intel Haswell / AMD Zen and later).
# AVX-512 is left out because many office PCs (AMD Zen 1-3, most Intel client CPUs) lack it and
# would die with SIGILL; eval/README.md gives the measured cost against a native build.
# tests/test_llama_build.py fails when the installed library has AVX-512, AMX or other extras.
#
# pip caches built wheels by version, not by build flags, so the wheel is built with
# --no-cache-dir into a folder named after the flags, installed from that file, and the venv
# records which build it has (VENV/.llama-cpp-build); a different record means a rebuild.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}
# the version pyproject.toml pins: a different one would be fetched (maybe prebuilt) by the project install
VERSION=$(sed -n 's/^ *"llama-cpp-python==\([0-9][0-9.]*\)",.*$/\1/p' pyproject.toml | head -n 1)
[ -n "$VERSION" ] || { echo "pyproject.toml pins no llama-cpp-python version" >&2; exit 1; }
if [ "$(uname -m)" = "x86_64" ]; then
  LABEL=portable-avx2
  # every feature named: llama.cpp's own defaults change when SOURCE_DATE_EPOCH is set (reproducible builds)
  FLAGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF"
  FLAGS="$FLAGS -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
  FLAGS="$FLAGS -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF"
  FLAGS="$FLAGS -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
else
  LABEL=portable
  FLAGS="-DGGML_NATIVE=OFF"
fi
if [ -n "${SHEGONG_LLAMA_CMAKE_ARGS:-}" ]; then
  FLAGS="$SHEGONG_LLAMA_CMAKE_ARGS"
  case "$FLAGS" in *-DGGML_NATIVE=ON*) LABEL=native ;; *) LABEL=custom ;; esac
fi
TAG=$(printf '%s %s' "$VERSION" "$FLAGS" | sha256sum | cut -c1-12)
MARKER="$VENV/.llama-cpp-build"
WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/shegong/wheels/llama-cpp-python-$VERSION-$LABEL-$TAG"

if [ "$(cat "$MARKER" 2>/dev/null)" = "$TAG" ] && "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
  exit 0
fi
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "正在编译本地大模型运行库 llama-cpp-python（$LABEL，约 6 分钟，只需一次）…" >&2
  rm -rf "$WHEELS.tmp" && mkdir -p "$WHEELS.tmp"
  CMAKE_ARGS="$FLAGS" FORCE_CMAKE=1 "$VENV/bin/pip" wheel -q --no-cache-dir --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$WHEELS.tmp"
  rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
fi
WHEEL=$(ls "$WHEELS"/llama_cpp_python-*.whl | head -n 1)
"$VENV/bin/pip" install -q --force-reinstall --no-deps "$WHEEL"
# its own dependencies (numpy, jinja2, diskcache, typing-extensions), resolved from this very file
"$VENV/bin/pip" install -q "$WHEEL"
echo "$TAG" > "$MARKER"
