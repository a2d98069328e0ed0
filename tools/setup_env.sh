#!/usr/bin/env bash
# One-command set-up of umg_mm's environment: a virtual environment with the pinned stack, mmcv built
# from source with its compiled ops (CPU ops, plus CUDA ops where a GPU and nvcc are present), and
# umg_mm installed in editable mode. Ends by checking every import and fails loudly if one breaks.
#
#   bash tools/setup_env.sh            # venv at ./.venv
#   UMG_VENV=/path/to/venv bash tools/setup_env.sh
#
# Environment:
#   UMG_VENV         where the virtual environment lives (default: <repo>/.venv)
#   UMG_PYTHON       the interpreter that creates it (default: python3; 3.10-3.12)
#   UMG_WHEEL_CACHE  where built mmcv wheels are kept, keyed by python/torch/ops flavour
#                    (default: ~/.cache/umg_mm/wheels)
#   UMG_MMCV_CUDA    auto (default) | 1 | 0: build mmcv's CUDA ops (auto: when nvcc and a GPU are seen)
#   UMG_APT          auto (default) | 0: install the Debian packages below with apt-get when missing
#
# Debian packages (installed when missing, where apt-get runs as root; otherwise a warning says what
# is lost): fonts-noto-core and fonts-noto-cjk (picture labels in Latin, Greek, Cyrillic, Arabic and
# CJK), chromium and chromium-driver (the web demo's browser test).
#
# Idempotent: a second run whose inputs (this script, requirements/, setup.py) are unchanged only
# re-checks the install, in seconds.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${UMG_VENV:-$ROOT/.venv}
PYTHON=${UMG_PYTHON:-python3}
WHEEL_CACHE=${UMG_WHEEL_CACHE:-$HOME/.cache/umg_mm/wheels}
TORCH_SPEC=(torch==2.13.0 torchvision==0.28.0)
MMCV_VERSION=2.1.0

log() { printf '[setup_env] %s\n' "$*" >&2; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

"$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)' \
  || die "$PYTHON is $("$PYTHON" -V 2>&1); umg_mm's stack needs Python 3.10-3.12 (set UMG_PYTHON)."

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# ---- decide whether mmcv gets CUDA ops -------------------------------------------------------
want_cuda=${UMG_MMCV_CUDA:-auto}
if [ "$want_cuda" = auto ]; then
  if command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 \
     && nvidia-smi -L >/dev/null 2>&1; then want_cuda=1; else want_cuda=0; fi
fi

# ---- 0. Debian packages: fonts for labels in any script, Chromium for the browser test ---------
SYSTEM_PACKAGES=(fonts-noto-core fonts-noto-cjk chromium chromium-driver)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${UMG_APT:-auto}" != 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"; } >&2 \
      || log "WARNING: apt-get could not install ${missing[*]} (see above)"
  else
    log "WARNING: ${missing[*]} not installed, and no apt-get as root here (or UMG_APT=0):"
  fi
  for pkg in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && continue
    case $pkg in
      fonts-noto-cjk) log "  $pkg missing: CJK class names are drawn as missing-glyph boxes" ;;
      fonts-noto-core) log "  $pkg missing: class names fall back to DejaVu Sans (no Devanagari, Thai)" ;;
      chromium*) log "  $pkg missing: tests/test_tools/test_web_demo.py (browser) is skipped" ;;
    esac
  done
fi

inputs_hash=$(cat "$ROOT/tools/setup_env.sh" "$ROOT"/requirements/*.txt "$ROOT/setup.py" \
  | sha256sum | cut -c1-16)
stamp="$VENV/.umg_mm_setup"
expected_stamp="$inputs_hash cuda=$want_cuda root=$ROOT"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$expected_stamp" ]; then
  log "environment at $VENV is up to date; checking it"
  exec "$PY" "$ROOT/tools/check_install.py" $([ "$want_cuda" = 1 ] && echo --expect-cuda)
fi
rm -f "$stamp"

# ---- 1. torch + torchvision: the registry's matching builds ----------------------------------
# --isolated ignores the machine's pip configuration, whose local torch+cpu wheel does not pair
# with the registry's torchvision (import fails with "operator torchvision::nms does not exist").
if ! "$PY" - "${TORCH_SPEC[@]}" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
want = dict(s.split('==') for s in sys.argv[1:])
sys.exit(0 if all(version(k).split('+')[0] == v for k, v in want.items()) else 1)
EOF
then
  log "installing ${TORCH_SPEC[*]}"
  "${PIP[@]}" install --isolated ${PIP_CERT:+--cert "$PIP_CERT"} "${TORCH_SPEC[@]}"
fi
TORCH_PIN=$("$PY" -c 'from importlib.metadata import version
print("torch==" + version("torch")); print("torchvision==" + version("torchvision"))')
constraints=$(mktemp)
trap 'rm -f "$constraints"' EXIT
printf '%s\n' "$TORCH_PIN" > "$constraints"

# ---- 2. the pure-Python stack ----------------------------------------------------------------
log "installing the pinned stack (requirements/stack.txt)"
"${PIP[@]}" install -r "$ROOT/requirements/stack.txt" -c "$constraints" ninja==1.13.0

# ---- 3. mmcv with compiled ops, built once per flavour and cached as a wheel -------------------
mmcv_ok() {
  "$PY" - "$want_cuda" <<'EOF' 2>/dev/null
import sys
import mmcv, mmcv.ops
from mmcv.ops import get_compiling_cuda_version
assert mmcv.__version__ == '2.1.0'
cuda = get_compiling_cuda_version() not in ('not available', '')
sys.exit(0 if cuda == (sys.argv[1] == '1') else 1)
EOF
}
if ! mmcv_ok; then
  key=$("$PY" -c 'import sys, torch; print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}")')
  flavour=$([ "$want_cuda" = 1 ] && echo cuda || echo cpu)
  wheel_dir="$WHEEL_CACHE/mmcv-$MMCV_VERSION-$key-$flavour"
  if ! ls "$wheel_dir"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv $MMCV_VERSION with $flavour ops (several minutes; cached in $wheel_dir)"
    # mmcv 2.1.0's setup.py imports pkg_resources: build without isolation against setuptools<70.
    "${PIP[@]}" install "setuptools<70" wheel==0.45.1
    build_env=(MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}")
    if [ "$want_cuda" = 1 ]; then
      nvcc_root=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")
      cuda_inc=$("$PY" -c 'import glob, os, site; print(":".join(sorted(glob.glob(os.path.join(site.getsitepackages()[0], "nvidia", "*", "include")))))')
      arch=${TORCH_CUDA_ARCH_LIST:-$("$PY" -c 'import torch; c = torch.cuda.get_device_capability(); print(f"{c[0]}.{c[1]}")')}
      build_env+=(FORCE_CUDA=1 CUDA_HOME="${CUDA_HOME:-$nvcc_root}" TORCH_CUDA_ARCH_LIST="$arch"
                  CPATH="$cuda_inc${CPATH:+:$CPATH}")
    fi
    rm -rf "$wheel_dir".partial.*              # left by an interrupted build
    tmp_dir="$wheel_dir.partial.$$"
    mkdir -p "$tmp_dir"
    env "${build_env[@]}" "${PIP[@]}" wheel --no-build-isolation --no-deps --no-cache-dir \
      -w "$tmp_dir" "mmcv==$MMCV_VERSION"
    rm -rf "$wheel_dir"; mv "$tmp_dir" "$wheel_dir"   # only a finished build lands in the cache
  fi
  log "installing mmcv from $wheel_dir"
  "${PIP[@]}" install --no-deps --force-reinstall --no-cache-dir "$wheel_dir"/mmcv-*.whl
  mmcv_ok || die "mmcv from $wheel_dir does not import with $flavour ops"
fi

# ---- 4. setuptools back to a version torch accepts and that still has pkg_resources -----------
"${PIP[@]}" install -r "$ROOT/requirements/build.txt"

# ---- 5. umg_mm itself, editable, with the web demo's extra ---------------------------------------
log "installing umg_mm (editable, with [demo])"
"${PIP[@]}" install --no-build-isolation -e "$ROOT[demo]" -c "$constraints"

"$PY" "$ROOT/tools/check_install.py" $([ "$want_cuda" = 1 ] && echo --expect-cuda)
echo "$expected_stamp" > "$stamp"
log "done: activate with 'source $VENV/bin/activate'"
