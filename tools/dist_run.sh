#!/usr/bin/env bash
# torchrun around one of the tools: bash tools/dist_run.sh TOOL.py NPROC [tool args...]
# (used by dist_train.sh and dist_test.sh). One process per GPU (nccl) on GPU hosts; on a
# CPU-only host the processes use gloo. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT.
set -euo pipefail
TOOL=$1
NPROC=$2
PYTHON=${PYTHON:-python}

PYTHONPATH="$(dirname "$0")/..${PYTHONPATH:+:$PYTHONPATH}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" \
    --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" \
    --nproc_per_node="$NPROC" \
    --master_port="${PORT:-29500}" \
    "$(dirname "$0")/$TOOL" "${@:3}" --launcher pytorch
