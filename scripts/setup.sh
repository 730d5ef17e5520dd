#!/usr/bin/env bash
# Sets up .venv with everything 社工助手 needs, offline-safe after the first run.
#   bash scripts/setup.sh          app + CLI
#   bash scripts/setup.sh --dev    also test tools and Debian's chromium for the browser test
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
# torch first, pinned: the CPU build lies on this disk; an unpinned torch pulls a multi-GB CUDA build.
.venv/bin/pip install -q torch==2.13.0

bash scripts/build_llama.sh

# a CJK font, so the summary chart's Chinese labels are not drawn as boxes (matplotlib, offline)
if ! fc-list :lang=zh 2>/dev/null | grep -q . ; then
  (apt-get update -qq && apt-get install -y -qq --no-install-recommends fonts-wqy-microhei >/dev/null) \
    || echo "警告：未能安装中文字体，总结图表里的中文可能显示成方框" >&2
fi

if [ "${1:-}" = "--dev" ]; then
  .venv/bin/pip install -q -e ".[dev]"
  if ! command -v chromium >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "警告：未能安装 chromium，浏览器测试将无法运行" >&2
  fi
  # LibreOffice converts the summary DOCX to PDF in a test (the document must open and show its chart)
  if ! command -v soffice >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui >/dev/null) \
      || echo "警告：未能安装 LibreOffice，年度总结的 DOCX 转 PDF 测试将无法运行" >&2
  fi
  # a real PostgreSQL for the tests that show the feature tables are not tied to SQLite
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || echo "警告：未能安装 PostgreSQL，数据库可移植性测试将无法运行" >&2
  fi
else
  .venv/bin/pip install -q -e .
fi
echo "环境已就绪：.venv"
