#!/usr/bin/env bash
# The GPU path of popnb, checked in one call of about 8 minutes on a CUDA machine (issue 32).
#
#   bash benchmarks/gpu_check.sh OUTDIR                 # on the GPU machine
#   bash benchmarks/gpu_check.sh OUTDIR --cpu-dry-run   # here: the same steps at tiny sizes on the CPU (4-6 min on 2 busy cores)
#
# Before a GPU call, on the CPU machine (it reaches PyPI; the GPU machine reaches nothing):
#   bash benchmarks/gpu_wheels.sh    # .whl/: the wheels of benchmarks/gpu_wheels.txt for CPython 3.12 (~9 MB)
#   ls data/raw/paper                # the authors' tables (3.2 MB): `popnb data` or POPNB_DATA_MIRROR=../shared/data fills it
# Both folders are git-ignored, so the device tool carries them only when named. The device call:
#   carry:     [".whl", "data/raw/paper"]
#   command:   bash benchmarks/gpu_check.sh $OUT
#   timeout_s: 540   (the budget, 470 s, plus the summary and a margin)
#   kind:      left out (an H100 does; an H200 too)
# Everything comes back under $OUT: summary.json (every figure below, the nvidia-smi line, versions), steps.tsv (each
# step's exit status and seconds), one log a step, tests.json and study.json (with study.stages.jsonl).
#
# Steps, each under its own `timeout`, all within GPU_CHECK_BUDGET seconds (default 470; the study gets what is left):
#   install   the wheels into /tmp/site (--no-deps --target), PYTHONPATH=/tmp/site:$PWD; versions against requirements/lock.txt
#   env       nvidia-smi, CPU, and one import of everything the check uses
#   tests     benchmarks/gpu_tests.py: stacked members equal each member alone on CUDA (float32 exact with TF32 off,
#             float32 default, float16 autocast), melspec_torch on CUDA against numpy's melspec at 128 × 1,292, and a
#             predictor bundle trained on CUDA predicting in a process that sees no GPU
#   pytest    tests/test_train.py -m gpu (test_cuda_mixed_precision), the repository's own CUDA test
#   ensemble  benchmarks/ensemble.py on CUDA: 10 members stacked against one at a time, at 64 × 108 and 128 × 1,292;
#             the same at 64 × 108 on the machine's CPU (the CPU baseline of the GPU/CPU ratio, in the same call)
#   train     benchmarks/train.py --devices cpu cuda --batches 64: samples/s of PaperCNN and FusionCNN (64 × 108, 128 × 1,292)
#   study     benchmarks/gpu_study.py --params params/gpu.yaml: 04's training stage by stage (stores with the spectrograms
#             on the GPU, the four networks on seed 0, the corrected network on all 10 seeds as one 50-member stack,
#             the paper protocol, the CPU baselines) until the budget, with the stage table and the projected total
#
# Environment: PYTHON (default python3), GPU_CHECK_BUDGET (seconds), GPU_CHECK_ROOT (scratch project root for caches and
# stores, default /tmp/popnb_gpu_root), GPU_CHECK_INSTALL=0 (use the Python as it is), GPU_CHECK_DRY_RUN=1 (= --cpu-dry-run).
set -uo pipefail
OUT=${1:?usage: bash benchmarks/gpu_check.sh OUTDIR [--cpu-dry-run]}
DRY=${GPU_CHECK_DRY_RUN:-0}; [ "${2:-}" = --cpu-dry-run ] && DRY=1
cd "$(dirname "$0")/.."
REPO=$PWD
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
PY=${PYTHON:-python3}
BUDGET=${GPU_CHECK_BUDGET:-$([ "$DRY" = 1 ] && echo 420 || echo 470)}
T0=$(date +%s)
NPROC=$(nproc)
: > "$OUT/steps.tsv"
export MPLBACKEND=Agg PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
if [ "$DRY" = 1 ]; then DEV=cpu; export CUDA_VISIBLE_DEVICES= POPNB_DEVICE=cpu; else DEV=cuda; fi
echo "gpu_check: $(date -u +%FT%TZ), device $DEV, budget ${BUDGET} s, out $OUT"

left() { echo $(( BUDGET - ($(date +%s) - T0) )); }
# step NAME CAP CMD...: run CMD under `timeout` (CAP seconds, or what is left of the budget less a reserve), logged to
# OUT/NAME.log; its exit status and seconds go to steps.tsv (124: timed out)
step() {
  local name=$1 cap=$2; shift 2
  local l; l=$(( $(left) - 15 )); [ "$l" -lt "$cap" ] && cap=$l
  if [ "$cap" -lt 5 ]; then printf '%s\tskipped\t0\tbudget spent\n' "$name" >> "$OUT/steps.tsv"; echo "== $name: skipped (budget spent)"; return 0; fi
  echo "== $name (at most ${cap} s)"
  local t=$(date +%s.%N) rc
  # a shell function of this script runs its own commands under `timeout $CAP`; anything else runs under it here
  if declare -F "$1" > /dev/null; then CAP=$cap "$@" > "$OUT/$name.log" 2>&1; rc=$?
  else timeout -k 10 "$cap" "$@" > "$OUT/$name.log" 2>&1; rc=$?; fi
  local s; s=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t }")
  printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$s" "$*" >> "$OUT/steps.tsv"
  echo "   exit $rc, ${s} s$([ "$rc" = 124 ] && echo ' (timed out)')"; tail -n 3 "$OUT/$name.log" | sed 's/^/   | /'
  return 0
}

# --- install: the wheels the GPU machine's Python lacks, into /tmp/site, ahead of everything on PYTHONPATH
install() {
  if [ "${GPU_CHECK_INSTALL:-1}" = 0 ]; then echo "GPU_CHECK_INSTALL=0: the Python as it is"; return 0; fi
  ls .whl/*.whl > /dev/null 2>&1 || { echo "no .whl/ (run benchmarks/gpu_wheels.sh and carry .whl)"; return 1; }
  "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { echo "the wheels are for CPython 3.12, $PY is not"; return 1; }
  rm -rf /tmp/site
  if "$PY" -m pip --version > /dev/null 2>&1; then
    timeout "$CAP" "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  else   # no pip: a wheel is a zip of what goes into site-packages
    echo "no pip: unpacking the wheels"
    timeout "$CAP" "$PY" -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('/tmp/site') for w in sorted(glob.glob('.whl/*.whl'))]"
  fi
}
step install 90 install
if grep -q "^install	0	" "$OUT/steps.tsv" && [ "${GPU_CHECK_INSTALL:-1}" != 0 ]; then export PYTHONPATH=/tmp/site:$REPO; else export PYTHONPATH=$REPO; fi

# --- a scratch project root: stores, cached runs and checkpoints go there, never into the tree
ROOT=${GPU_CHECK_ROOT:-/tmp/popnb_gpu_root}
rm -rf "$ROOT"; mkdir -p "$ROOT/data/raw"
[ -d data/raw/paper ] && cp -r data/raw/paper "$ROOT/data/raw/"
[ -d "$ROOT/data/raw/paper" ] || [ -n "${POPNB_DATA_MIRROR:-}" ] || echo "!!! no data/raw/paper and no POPNB_DATA_MIRROR: the steps that load the tracks will fail"
[ -n "${POPNB_DATA_MIRROR:-}" ] && export POPNB_DATA_MIRROR=$(cd "$POPNB_DATA_MIRROR" && pwd)
export POPNB_ROOT=$ROOT

# --- env: the GPU, the CPU, the versions, one import of everything
env_step() {
  echo "nvidia-smi: $(timeout 20 nvidia-smi --query-gpu=name,memory.total,driver_version,pci.bus_id --format=csv,noheader 2>&1 | head -n 4 | paste -sd ';')"
  timeout 20 nvidia-smi 2>&1 | head -n 12
  echo "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p'), $NPROC cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  timeout "$CAP" "$PY" - <<'EOF'
import json, re, sys, importlib, importlib.metadata as md
mods = ['torch', 'numpy', 'scipy', 'pandas', 'sklearn', 'numba', 'matplotlib', 'seaborn', 'librosa', 'soundfile', 'soxr', 'pyloudnorm',
        'fastcore', 'papermill', 'nbformat', 'yaml', 'tqdm', 'requests', 'pytest', 'popnb.core', 'popnb.features', 'popnb.ensembles',
        'popnb.protocols', 'popnb.predict', 'popnb.cli', 'popnb.runner']
bad = []
for m in mods:
    try: importlib.import_module(m)
    except Exception as e: bad.append(f"{m}: {type(e).__name__}: {e}")
import torch
lock = dict(re.findall(r'^([A-Za-z0-9_.-]+)==(\S+)', open('requirements/lock.txt').read(), re.M))
dist = {'sklearn': 'scikit-learn', 'yaml': 'pyyaml'}
vers = {}
for m in mods:
    if m.startswith('popnb'): continue
    n = dist.get(m, m)
    try: v = md.version(n)
    except md.PackageNotFoundError: v = None
    vers[n] = dict(have=v, lock=lock.get(n))
print(json.dumps(dict(python=sys.version.split()[0], cuda_available=torch.cuda.is_available(), torch_cuda=torch.version.cuda,
                      gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, import_errors=bad, versions=vers)))
for n, v in vers.items():
    if v['have'] != v['lock']: print(f"note: {n} {v['have']} here, {v['lock']} in requirements/lock.txt")
sys.exit(1 if bad else 0)
EOF
}
step env 60 env_step

# --- the CUDA tests
if [ "$DRY" = 1 ]; then
  step tests 150 "$PY" benchmarks/gpu_tests.py --device cpu --quick --rows 60 --n-jobs "$NPROC" --out "$OUT/tests.json" --workdir "$ROOT/tests"
else
  step tests 150 "$PY" benchmarks/gpu_tests.py --device cuda --rows 200 --n-jobs "$NPROC" --out "$OUT/tests.json" --workdir "$ROOT/tests"
fi
# conftest.py hides the GPU unless CUDA_VISIBLE_DEVICES is set: name it (the dry run leaves it empty: the test skips)
step pytest 90 env CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES-0}" "$PY" -m pytest -q -m gpu tests/test_train.py -p no:cacheprovider -rs

# --- the benchmarks
if [ "$DRY" = 1 ]; then
  step ensemble_study 60 "$PY" benchmarks/ensemble.py --device cpu --members 2 --rows 64 --rounds 1 --threads 2
  step ensemble_full 60 "$PY" benchmarks/ensemble.py --device cpu --members 2 --rows 32 --rounds 1 --threads 2 --n-mels 16 --seconds 2
  step train 90 "$PY" benchmarks/train.py --devices cpu --batches 32 --steps 3 --threads 2
else
  step ensemble_study 80 "$PY" benchmarks/ensemble.py --device cuda --members 1 10 --rows 512 --rounds 2 --threads "$NPROC"
  step ensemble_full 80 "$PY" benchmarks/ensemble.py --device cuda --members 1 10 --rows 256 --rounds 2 --threads "$NPROC" --n-mels 128 --seconds 30
  step ensemble_cpu 60 "$PY" benchmarks/ensemble.py --device cpu --members 10 --rows 256 --rounds 1 --threads "$NPROC"
  step train 100 "$PY" benchmarks/train.py --devices cpu cuda --batches 64 --steps 12 --threads "$NPROC"
fi

# --- the full-resolution study on what is left of the budget (less the summary's reserve)
SB=$(( $(left) - 40 )); [ "$SB" -gt 300 ] && SB=300
if [ "$DRY" = 1 ]; then
  step study $(( SB + 30 )) "$PY" benchmarks/gpu_study.py --quick --budget "$SB" --out "$OUT/study.json"
else
  step study $(( SB + 30 )) "$PY" benchmarks/gpu_study.py --params params/gpu.yaml --budget "$SB" --out "$OUT/study.json"
fi

# --- summary.json: every figure in one file
"$PY" - "$OUT" "$DEV" "$BUDGET" "$T0" <<'EOF'
import ast, json, re, sys, time
from pathlib import Path
out, dev, budget, t0 = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rd = lambda f: (out/f).read_text(errors='replace') if (out/f).exists() else ''
js = lambda f: json.loads(rd(f)) if rd(f).strip() else None
steps = [dict(zip(['step', 'exit', 'seconds', 'command'], l.split('\t'))) for l in rd('steps.tsv').splitlines()]
env = next((json.loads(l) for l in rd('env.log').splitlines() if l.startswith('{')), None)
smi = next((l.split(': ', 1)[1] for l in rd('env.log').splitlines() if l.startswith('nvidia-smi: ')), None)
cpu = next((l for l in rd('env.log').splitlines() if l.startswith('CPU: ')), None)
ens = {k: [ast.literal_eval(l) for l in rd(f'{k}.log').splitlines() if l.startswith("{'members'")] for k in ('ensemble_study', 'ensemble_full', 'ensemble_cpu')}
row = re.compile(r'^(.{26}) (cpu|cuda\S*)\s+(\d+×\d+)\s+(\d+)\s+(\w+)\s+([\d.]+)\s+([\d.]+)%')
train = [dict(model=m[1].strip(), device=m[2], input=m[3], batch=int(m[4]), precision=m[5], samples_per_s=float(m[6]), load_pct=float(m[7]))
         for l in rd('train.log').splitlines() if (m := row.match(l))]
s = dict(device=dev, nvidia_smi=smi, cpu=cpu, budget_s=budget, wall_s=int(time.time()) - t0, steps=steps, env=env,
         tests=js('tests.json'), ensemble=ens, train=train, study=js('study.json'))
(out/'summary.json').write_text(json.dumps(s, indent=1, default=str))
print(f"summary: {out/'summary.json'}; {s['wall_s']} s in all")
for st in steps: print(f"  {st['step']:15s} exit {st['exit']:>7s} {st['seconds']:>7s} s")
EOF
echo "gpu_check: done in $(( $(date +%s) - T0 )) s"
