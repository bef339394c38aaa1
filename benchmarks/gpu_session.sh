#!/usr/bin/env bash
# The GPU measurements of issues 28 (item 6: the main job on six GDS-scale sets) and 29 (item 3: spred's
# whole path, 20 splits, on a GPU), as one script for a short device lease. Every stage has its own time cap
# and writes its log to $OUT; a stage that runs out of time leaves its partial log (progress lines with an
# estimated end) and the next stage starts.
#
#   OUT=/tmp/gpu bash benchmarks/gpu_session.sh                    # on a machine with CUDA and genesel installed
#   OUT=/tmp/gpu STAGES=bench bash benchmarks/gpu_session.sh       # only the benchmarks (then STAGES=job)
#   OUT=/tmp/gpu SCALE=tiny bash benchmarks/gpu_session.sh         # the same stages at toy size (checks the script)
#
# Wheels in .whl/ (genesel's dependencies the device image lacks) are installed first when present.
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/gpu_session}
SCALE=${SCALE:-gds}
STAGES=${STAGES:-bench,job}  # bench: about 5 min at most; job: about 6 min at most (one device call each)
PY=${PY:-python3}
mkdir -p "$OUT"
START=$(date +%s)
stamp() { echo "[$(($(date +%s) - START)) s] $*" | tee -a "$OUT/stages.txt"; }

if [ -d .whl ]; then
  stamp "installing wheels"
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    >"$OUT/pip.log" 2>&1 || { echo "wheel install failed"; cat "$OUT/pip.log"; exit 1; }
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  export PATH=/tmp/site/bin:$PATH
  if ! $PY -c "import sklearn, sys; sys.exit(tuple(map(int, sklearn.__version__.split('.')[:2])) < (1, 8))"; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl_opt/*.whl \
      >>"$OUT/pip.log" 2>&1
  fi
  $PY -m pip install -q --no-deps --no-build-isolation --no-index -e . >>"$OUT/pip.log" 2>&1 \
    || { echo "genesel install failed"; cat "$OUT/pip.log"; exit 1; }
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1
  $PY -c "import torch, sklearn, pandas, numpy, snakemake; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(),
'sklearn', sklearn.__version__, 'pandas', pandas.__version__, 'numpy', numpy.__version__, 'snakemake', snakemake.__version__)"
  nproc; free -g | head -2
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

if [ "$SCALE" = tiny ]; then
  BENCH=(--probes 2000 --n-train 60 --splits 4); CONFIG=.test/config/config.yaml; SET=GDSTINY1; CAP=1
else
  BENCH=(); CONFIG=benchmarks/configs/six_gds_scale.yaml; SET=SIMGDS1; CAP=${CAP:-1}
fi

if [[ $STAGES == *bench* ]]; then
# issue 29 item 3: 20 splits x the whole kappa path at 120 x 54,675 (target: under 30 s on a GPU)
stamp "spred path, hidden 1024"
# --warm-iter 50: config/config.yaml's setting at hidden 1024 (on 2 CPU cores, 2026-12-04: 10-13 min)
timeout -k 10 $((120 * CAP)) $PY benchmarks/bench_spred.py --path --warm-iter 50 "${BENCH[@]}" >"$OUT/spred_path_1024.txt" 2>&1
stamp "spred path, hidden 128 (rc $?)"
timeout -k 10 $((60 * CAP)) $PY benchmarks/bench_spred.py --path --hidden 128 "${BENCH[@]}" >"$OUT/spred_path_128.txt" 2>&1
stamp "MLP baselines' trainer (rc $?)"

# the MLP baselines' trainer at GDS scale (20 splits x 1 kappa, fixed cost and per-epoch rate apart)
timeout -k 10 $((90 * CAP)) $PY benchmarks/bench_mlp.py --kappas 0.01 --epochs 20 "${BENCH[@]}" >"$OUT/bench_mlp.txt" 2>&1
stamp "plan on this device (rc $?)"
fi

if [[ $STAGES == *job* ]]; then

# issue 28 items 2 and 6: the plan with rates measured on this device, then the main job on one set
timeout $((90 * CAP)) genesel plan --configfile "$CONFIG" --threads 4 --remeasure --out "$OUT/plan.tsv" \
  >"$OUT/plan.txt" 2>&1
stamp "main job on $SET without the MLP baselines (rc $?)"
WORK=/tmp/six && mkdir -p $WORK && cp -r Snakefile workflow config profiles .test benchmarks $WORK/
TARGETS=()
for m in limma l1_logistic spred_linear hsic_lasso spred; do
  TARGETS+=("results/$SET/fits/$m.npz" "results/$SET/stability/$m.npz")
done
(cd $WORK && timeout -k 20 $((170 * CAP)) snakemake "${TARGETS[@]}" --cores 16 --resources gpu=1 --keep-going \
  --set-threads select=4 stability=4 --configfile "$CONFIG" >"$OUT/snakemake.log" 2>&1)
stamp "one MLP baseline job, partial (rc $?)"
pkill -9 -f "genesel (select|stability)"  # a job Snakemake left running when its cap came (seen: the run hung)
(cd $WORK && timeout -k 20 $((45 * CAP)) snakemake "results/$SET/fits/mlp_wd.npz" --cores 16 --resources gpu=1 \
  --set-threads select=4 stability=4 --configfile "$CONFIG" >"$OUT/snakemake_mlp.log" 2>&1)
stamp "collecting (rc $?)"
pkill -9 -f "genesel (select|stability)"
(cd $WORK && tar czf "$OUT/run.tgz" results/*/benchmark results/summary logs 2>/dev/null)
(cd $WORK && $PY "$OLDPWD/benchmarks/plan_accuracy.py" --configfile "$CONFIG" --results . --threads 4 \
  >"$OUT/plan_accuracy.txt" 2>&1)
fi
stamp "done"
for f in "$OUT"/spred_path_*.txt "$OUT"/bench_mlp.txt "$OUT"/plan_accuracy.txt; do echo "== $f"; tail -n 12 "$f"; done
grep -E "^total|^rates" "$OUT/plan.txt" 2>/dev/null
