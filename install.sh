#!/usr/bin/env bash
# Install chromexpr and everything it needs into ./.venv (idempotent). Used by the README and .ci/run.
#   apt: bedtools (pybedtools needs the binary), isal (igzip, fast gzip)
#   pip: torch pinned to the CPU build 2.13.0 (unpinned, pip pulls GBs of CUDA wheels), the package,
#        Snakemake 9 with the SLURM executor plugin, pytest and snakefmt.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v bedtools >/dev/null || ! command -v igzip >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends bedtools isal >/dev/null
fi
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0" -e ".[workflow,dev]"
.venv/bin/python -c "import chromexpr, torch, pybedtools, pyBigWig; print('chromexpr', chromexpr.__version__, '| torch', torch.__version__)"
