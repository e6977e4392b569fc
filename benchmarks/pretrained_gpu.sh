#!/usr/bin/env bash
# Choose the built-in folk model's recipe by measurement, on one GPU: each candidate preset in
# benchmarks/folk_candidates/ is trained by the `make pretrained` recipe (same data, split and seed), side by
# side, for one step budget sized to the GPU's time, and each one's bundle, model card and curve is kept.
#
#   benchmarks/pretrained_gpu.sh OUT [TRAIN_SECONDS] [MAX_STEPS] [PROBE_STEPS]
#
# The folk corpus must be prepared first (in benchmarks/work/pretrained/data-abc-char, as `make pretrained`
# does), because the GPU machine has no music21. A short probe run of every candidate, side by side, times a
# step; the budget is then the most whole hundreds of steps the slowest candidate trains in TRAIN_SECONDS,
# at most MAX_STEPS. Each candidate runs as `abc-lstm-folk` in its own copy of the source, so its card and
# recipe read exactly as the shipped model's will. OUT gets one NAME.tgz per candidate and summary.txt.
set -u
OUT=${1:?usage: pretrained_gpu.sh OUT [TRAIN_SECONDS] [MAX_STEPS] [PROBE_STEPS]}
BUDGET=${2:-380}
CAP=${3:-6000}
PROBE=${4:-150}
PY=${PYTHON:-python3}
DATA=benchmarks/work/pretrained/data-abc-char
ROOT=${CANDIDATE_ROOT:-/tmp/folk-candidates}
[ -f "$DATA/meta.json" ] || { echo "error: prepare the folk corpus into $DATA first (make pretrained does)" >&2; exit 2; }
mkdir -p "$OUT"
names=()
for yaml in benchmarks/folk_candidates/*.yaml; do
  name=$(basename "$yaml" .yaml)
  names+=("$name")
  rm -rf "${ROOT:?}/$name"
  mkdir -p "$ROOT/$name"/{work,probe}
  cp -r src "$ROOT/$name/src"
  cp "$yaml" "$ROOT/$name/src/tunesmith/presets/abc-lstm-folk.yaml"
  cp -r "$DATA" "$ROOT/$name/work/data-abc-char"
  cp -r "$DATA" "$ROOT/$name/probe/data-abc-char"
done

# The CPU cores are shared out: three runs of 16 threads each on 16 cores starved the GPU (side by side a step
# took 0.2 to 0.5 s, alone 0.036 s, on an H200), and the budget the probe set overran.
THREADS=$(( $(nproc) / ${#names[@]} )); [ "$THREADS" -ge 1 ] || THREADS=1

recipe() {  # NAME WORK STEPS LOG: the make-pretrained recipe, in the candidate's own copy of the source
  (cd "$ROOT/$1" && OMP_NUM_THREADS=$THREADS PYTHONUNBUFFERED=1 PYTHONPATH="$ROOT/$1/src:${PYTHONPATH:-}" \
    $PY -m tunesmith.pipeline.pretrained --steps "$3" --work "$2" --out "$2/bundle-out" >"$4" 2>&1)
}

echo "probe: $PROBE steps of ${names[*]}, side by side"
for n in "${names[@]}"; do recipe "$n" probe "$PROBE" "$ROOT/$n/probe.log" & done
wait
slowest=0
for n in "${names[@]}"; do
  s=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))[-1]['seconds'])" \
      "$ROOT/$n/probe/runs/abc-lstm-folk-seed0/sessions.json" 2>/dev/null) || { tail -20 "$ROOT/$n/probe.log"; exit 1; }
  echo "probe: $n trained $PROBE steps in $s s"
  slowest=$($PY -c "print(max($slowest, $s))")
done
STEPS=$($PY -c "n = min($CAP, int($BUDGET * $PROBE / $slowest)); print(n // 100 * 100 if n >= 100 else max(n, 1))")
echo "budget: $STEPS steps each (the slowest candidate's probe pace, $BUDGET s, at most $CAP)"

for n in "${names[@]}"; do recipe "$n" work "$STEPS" "$ROOT/$n/train.log" & done
wait
{
  echo "candidate,steps,held_out_bpc,bundle_bytes"
  for n in "${names[@]}"; do
    bpc=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['held_out']['bpc'])" \
          "$ROOT/$n/work/bundle-out/config.json" 2>/dev/null || echo failed)
    size=$(du -cb "$ROOT/$n/work/bundle-out" 2>/dev/null | tail -1 | cut -f1)
    echo "$n,$STEPS,$bpc,$size"
  done
} | tee "$OUT/summary.txt"
for n in "${names[@]}"; do
  run="work/runs/abc-lstm-folk-seed0"
  (cd "$ROOT/$n" && tar czf "$OUT/$n.tgz" --ignore-failed-read probe.log train.log work/bundle-out \
     "$run/metrics.csv" "$run/sessions.json" "$run/config.yaml" "$run/status.json" 2>/dev/null)
  tail -4 "$ROOT/$n/train.log"
done
