"""The installed llama.cpp library is the portable build of scripts/build_llama.sh.

A native build (-march=native) on a CPU with AMX dies with SIGSEGV in the AMX kernels, and one
with AVX-512 dies with SIGILL on the many office CPUs without it. pip caches wheels by version,
not by build flags, so a wheel built elsewhere could be installed without anyone noticing: this
fails then, on whatever CPU the tests run. It reads the features the library was compiled with
(``llama_print_system_info``), in a child process so that a library this CPU cannot run fails the
test instead of killing pytest.

On a CPU that has exactly the portable features a native build cannot be told apart from the
portable one; it then runs everywhere the portable one runs, which is what matters.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

PORTABLE_X86 = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
REQUIRED_X86 = {"AVX", "AVX2", "FMA", "F16C"}  # without them the build is portable but far too slow
NOT_INSTRUCTIONS = {"LLAMAFILE", "OPENMP", "REPACK"}  # build options, not CPU features
ROOT = Path(__file__).resolve().parent.parent
REBUILD = "请运行 bash scripts/setup.sh 重新编译通用版运行库"

# What the native build of llama-cpp-python 0.3.36 says on the development machine (AMD EPYC, Zen 4,
# AVX-512 without AMX). A CPU with AMX adds "AMX_INT8 = 1".
NATIVE_ZEN4 = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | AVX512 = 1 | "
               "AVX512_VBMI = 1 | AVX512_VNNI = 1 | AVX512_BF16 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
PORTABLE = ("CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | LLAMAFILE = 1 | "
            "OPENMP = 1 | REPACK = 1 | ")


def cpu_features(info: str) -> set[str]:
    """The features ``llama_print_system_info`` reports as compiled in ("AVX2 = 1")."""
    return {name for name, value in re.findall(r"\b([A-Z][A-Z0-9_]*) = (\d+)", info) if value != "0"}


def problems(info: str) -> list[str]:
    """Why a library with this system info is not the portable x86-64 build (empty: it is)."""
    have = cpu_features(info)
    out = []
    risky = sorted(f for f in have if f.startswith(("AVX512", "AMX")))
    if risky:
        out.append(f"编译时用了 {'、'.join(risky)}（AMX 在许多电脑上会段错误，AVX-512 在许多办公电脑上没有）")
    extra = sorted(have - PORTABLE_X86 - NOT_INSTRUCTIONS - set(risky))
    if extra:
        out.append(f"编译时用了通用版之外的指令 {'、'.join(extra)}（可能是按本机 CPU 编译的 native 版）")
    missing = sorted(REQUIRED_X86 - have)
    if missing:
        out.append(f"缺少 {'、'.join(missing)}，不是 scripts/build_llama.sh 编译的版本")
    return out


def installed_system_info() -> str:
    code = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"importing llama_cpp failed (exit status {out.returncode}): {out.stderr[-2000:]}"
    return out.stdout


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the fixed feature set is for x86-64")
@pytest.mark.integration
def test_installed_llama_cpp_is_the_portable_build():
    info = installed_system_info()
    found = problems(info)
    assert not found, f"{'；'.join(found)}。{REBUILD}。\n{info}"


@pytest.mark.unit
def test_the_check_rejects_native_and_amx_builds():
    assert problems(PORTABLE) == []
    native = problems(NATIVE_ZEN4)
    assert len(native) == 1 and "AVX512" in native[0] and "AVX512_VNNI" in native[0]
    amx = problems(NATIVE_ZEN4.replace("LLAMAFILE", "AMX_INT8 = 1 | LLAMAFILE"))
    assert "AMX_INT8" in amx[0]
    alder_lake = problems(PORTABLE.replace("AVX2 = 1", "AVX_VNNI = 1 | AVX2 = 1"))  # native, no AVX-512
    assert len(alder_lake) == 1 and "AVX_VNNI" in alder_lake[0] and "native" in alder_lake[0]
    generic = problems("CPU : SSE3 = 1 | SSSE3 = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | ")
    assert len(generic) == 1 and "AVX2" in generic[0]


def fake_venv(tmp_path: Path) -> tuple[Path, Path]:
    """A venv whose pip and python only log their calls; ``pip wheel`` leaves a wheel file where -w says."""
    venv, log = tmp_path / "venv", tmp_path / "calls.log"
    (venv / "bin").mkdir(parents=True)
    pip = venv / "bin" / "pip"
    pip.write_text(f'#!/bin/bash\necho "pip $* | CMAKE_ARGS=$CMAKE_ARGS" >> {log}\n'
                   'if [ "$1" = wheel ]; then while [ $# -gt 0 ]; do\n'
                   '  if [ "$1" = -w ]; then mkdir -p "$2"; touch "$2/llama_cpp_python-0.3.36-cp311-linux_x86_64.whl"; fi\n'
                   '  shift; done; fi\n')
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/bash\necho "python $*" >> {log}\n')
    for exe in (pip, python):
        exe.chmod(0o755)
    return venv, log


def build(venv: Path, tmp_path: Path, **env: str) -> list[str]:
    """Runs scripts/build_llama.sh on the fake venv; returns the pip calls it made."""
    log = tmp_path / "calls.log"
    log.write_text("")
    run_env = {k: v for k, v in os.environ.items() if k != "SHEGONG_LLAMA_CMAKE_ARGS"}
    run_env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), **env)
    out = subprocess.run(["bash", str(ROOT / "scripts" / "build_llama.sh"), str(venv)], env=run_env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [line for line in log.read_text().splitlines() if line.startswith("pip ")]


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the fixed feature set is for x86-64")
@pytest.mark.unit
def test_build_script_never_reuses_a_wheel_built_with_other_flags(tmp_path):
    venv, _ = fake_venv(tmp_path)
    first = build(venv, tmp_path)
    wheel = [c for c in first if c.startswith("pip wheel")]
    assert len(wheel) == 1 and "--no-cache-dir" in wheel[0] and "--no-binary llama-cpp-python" in wheel[0]
    flags = wheel[0].split("CMAKE_ARGS=")[1]
    assert "-DGGML_NATIVE=OFF" in flags and "-DGGML_AVX2=ON" in flags
    assert all(f"-DGGML_{name}=OFF" in flags for name in ("AVX512", "AMX_TILE", "AMX_INT8", "AMX_BF16"))
    assert any("--force-reinstall" in c and "portable-avx2" in c for c in first), first
    assert build(venv, tmp_path) == []  # the same build again: nothing to do
    native = build(venv, tmp_path, SHEGONG_LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON")  # other flags: built, not reused
    assert any(c.startswith("pip wheel") and "-DGGML_NATIVE=ON" in c for c in native), native
    assert any("--force-reinstall" in c and "/llama-cpp-python-0.3.36-native-" in c for c in native), native
    back = build(venv, tmp_path)  # and back to the portable one: its own wheel, installed again, not rebuilt
    assert not any(c.startswith("pip wheel") for c in back)
    assert any("--force-reinstall" in c and "portable-avx2" in c for c in back), back
