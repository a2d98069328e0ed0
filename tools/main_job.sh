#!/usr/bin/env bash
# The main job in one command: set-up (reusing the cached environment), the synthetic world,
# pretraining, semantic and panoptic training, evaluation, one results table, pictures.
#   bash tools/main_job.sh [tools/main_job.py arguments, e.g. --work-dir DIR --force]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
VENV="${UMG_VENV:-.venv}"
exec "$VENV/bin/python" tools/main_job.py "$@"
