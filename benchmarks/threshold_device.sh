#!/usr/bin/env bash
# The simplicity threshold at a paper-like size (d = 3…6, 3 draws, m = 200, segments of t = 1e4,
# N ≤ 1000: the interpolation threshold lies below it for these d), run where it is started: on a
# device machine (GPU: the draws are batched by jax.vmap there) or on the CPU. Writes the report, the figure and the sweep store (as a tarball) to ${OUT:-/tmp/thr}.
# Usage: bash benchmarks/threshold_device.sh   (from the repository root)
set -uo pipefail
OUT=${OUT:-/tmp/thr}
mkdir -p "$OUT"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} GFLOW_CACHE_DIR=${GFLOW_CACHE_DIR:-/tmp/gflow-jax} PYTHONUNBUFFERED=1
python3 -c "import jax; print('jax', jax.__version__, jax.devices())" || exit 9
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv 2>/dev/null
start=$(date +%s)
timeout "${LIMIT:-480}" python3 -m gflow_cli check simplicity.threshold --dims 3,4,5,6 --n-grid 10,30,100,300,1000 \
  --m 200 --t-max 10000 --segments 3 --reps 3 --refine 1 --store "$OUT/store" \
  --json "$OUT/report.json" --plot "$OUT/figure1.png" > "$OUT/terminal.txt" 2>&1
echo "rc=$? wall=$(( $(date +%s) - start )) s"
tail -25 "$OUT/terminal.txt"
tar czf "$OUT/store.tgz" -C "$OUT" store   # a copy: the store stays, so a rerun resumes
