#!/usr/bin/env bash
# One-call check of umg_mm on a machine with a GPU, one report at the end:
#   1. builds mmcv 2.1.0's CUDA ops from its sdist (FORCE_CUDA=1; STACK.md traps 4 and 11) unless
#      the installed mmcv already has them;
#   2. RoIAlign and MultiScaleDeformableAttention CUDA kernels against the CPU, one AMP
#      pretraining step and one panoptic step of ViT-B/16, the step estimator's prediction beside
#      the measured peak memory (python -m umg_mm.benchmark.gpu_check);
#   3. tools/benchmark.py --device cuda.
# Usage: bash tools/gpu_check.sh [--device cuda|cpu] [--model ViT-B-16|tiny] [--out DIR]
#                                [--mmcv-sdist mmcv-2.1.0.tar.gz] [--skip-build] [--dry-run]
# --device cpu --model tiny --skip-build runs every step on the CPU (what the tests do);
# --dry-run prints the commands.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICE=cuda MODEL=ViT-B-16 OUT=work_dirs/gpu_check SDIST="" BUILD=1 DRY=0 BATCH=32 SIZE=224
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --model) MODEL="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --mmcv-sdist) SDIST="$2"; shift 2 ;;
    --batch-size) BATCH="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --skip-build) BUILD=0; shift ;;
    --dry-run) DRY=1; shift ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-python}"
run() { echo "+ $*"; if [ "$DRY" = 0 ]; then "$@"; fi; }
mkdir -p "$OUT"

if [ "$BUILD" = 1 ] && [ "$DEVICE" != cpu ]; then
  if ! "$PY" -c "from mmcv.ops import get_compiling_cuda_version as v; assert v() != 'not available'" 2>/dev/null; then
    [ -n "$SDIST" ] || { echo "gpu_check.sh: mmcv has no CUDA ops; pass --mmcv-sdist mmcv-2.1.0.tar.gz" >&2; exit 2; }
    ARCH="${TORCH_CUDA_ARCH_LIST:-}"
    [ -n "$ARCH" ] || [ "$DRY" = 1 ] || \
      ARCH=$("$PY" -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
    run env FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS="$(nproc)" TORCH_CUDA_ARCH_LIST="$ARCH" \
      "$PY" -m pip install --no-build-isolation --no-cache-dir --no-deps "$SDIST"
  fi
fi
AMP=""; [ "$DEVICE" = cpu ] && AMP="--no-amp"
run "$PY" -m umg_mm.benchmark.gpu_check --device "$DEVICE" --model "$MODEL" \
  --batch-size "$BATCH" --size "$SIZE" $AMP --out "$OUT/checks.json" || CHECKS=$?
BENCH_ARGS=(--device "$DEVICE" --model "$MODEL" --out "$OUT/benchmark.json")
[ "$MODEL" = tiny ] && BENCH_ARGS+=(--sizes 32 64 --repeats 1 --only seg_vocab contrastive_loss)
run "$PY" "$ROOT/tools/benchmark.py" "${BENCH_ARGS[@]}" || BENCH=$?
if [ "$DRY" = 0 ]; then
  "$PY" - "$OUT" <<'PYEOF'
import json, os.path as osp, sys
out = sys.argv[1]
report = dict(checks=json.load(open(osp.join(out, 'checks.json'))),
              benchmark=json.load(open(osp.join(out, 'benchmark.json'))))
with open(osp.join(out, 'report.json'), 'w') as f:
    json.dump(report, f, indent=2)
print(f'gpu_check.sh: report written to {osp.join(out, "report.json")}')
PYEOF
fi
exit $(( ${CHECKS:-0} || ${BENCH:-0} ))
