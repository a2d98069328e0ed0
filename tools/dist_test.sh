#!/usr/bin/env bash
# Multi-process testing: bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
# NNODES, NODE_RANK, MASTER_ADDR, PORT for several nodes (see dist_run.sh).
set -euo pipefail
exec bash "$(dirname "$0")/dist_run.sh" test.py "$3" "$1" "$2" "${@:4}"
