#!/usr/bin/env bash
# Multi-process training: bash tools/dist_train.sh CONFIG NPROC [train.py args...]
# NNODES, NODE_RANK, MASTER_ADDR, PORT for several nodes (see dist_run.sh).
set -euo pipefail
exec bash "$(dirname "$0")/dist_run.sh" train.py "$2" "$1" "${@:3}"
