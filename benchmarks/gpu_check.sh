#!/usr/bin/env bash
# The prepared GPU check of issue 16 item 3: one command, at most 9.6 minutes on one
# H100-class GPU (the sum of the steps' timeouts), every step under its own timeout (a step that fails or times out is
# recorded and the next one runs). Figures go to OUT (default gpu-check/):
#   steps.txt          one line per step: name, exit status, seconds
#   env.txt            nvidia-smi, torch and CUDA versions
#   <step>.log         each step's output (bench tables, pytest summary, training log)
#   figures.jsonl      every bench_train.py figure (samples/s, peak GPU MiB, compile s)
#   util.csv           GPU utilisation and memory every 0.5 s during the training runs
#   run-*/log.csv      samples/s of the real training loop (loader + model, per epoch)
#
# Usage (repository root, the package importable by $PYTHON):
#   bash benchmarks/gpu_check.sh [--out DIR]
#   bash benchmarks/gpu_check.sh --cpu-dry-run --out /tmp/check   # tiny sizes on CPU
# The dry run runs every step on CPU at tiny sizes (the small preset in the training
# runs; torch.compile steps skipped: CPU
# compilation alone takes minutes) to show the script works end to end.
set -u
OUT=gpu-check
DRY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --cpu-dry-run) DRY=1; shift ;;
    *) echo "gpu_check.sh: unknown option '$1' (use --out DIR, --cpu-dry-run)" >&2; exit 2 ;;
  esac
done
PY="${PYTHON:-python}"
BENCH=benchmarks/bench_train.py
mkdir -p "$OUT"
rm -rf "$OUT"/run-* "$OUT/data-track"  # a re-run starts afresh
: > "$OUT/steps.txt"
FIG="$OUT/figures.jsonl"
: > "$FIG"

if [ "$DRY" = 1 ]; then
  DEV=cpu; NGPU=1; SAMPLES=256; LOADER_SAMPLES=256; STEPS=1; BLOCKS=1; THREADS=2; L300=16; L900=24
  BIG_BATCH="2 4"; ZOO_BATCH="2"; WORKERS="0 1"; EPOCHS=1; TRAIN_WORKERS=1
  ZOO_LENGTHS="$L300"; BIG_AMP="on"  # the loops' other values only repeat the same code
  TRAIN_CONFIG=configs/train/small.yaml; TRAIN_BATCH=32  # the 5.1 M model is too slow here
else
  DEV=cuda; NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true); NGPU=${NGPU:-1}
  SAMPLES=32768; LOADER_SAMPLES=16384; STEPS=5; BLOCKS=3; THREADS=8; L300=300; L900=900
  BIG_BATCH="256 512 1024 2048 4096 8192 16384"; ZOO_BATCH="256 1024 4096"
  WORKERS="0 2 4 8"; EPOCHS=2; TRAIN_WORKERS=8
  TRAIN_CONFIG=configs/train/jetpointnet-5m.yaml; TRAIN_BATCH=1024
  ZOO_LENGTHS="$L300 $L900"; BIG_AMP="on off"
fi
[ "$NGPU" -ge 1 ] 2>/dev/null || NGPU=1

step() {  # step NAME SECONDS COMMAND...
  local name="$1" limit="$2"; shift 2
  # the CPU dry run shares the machine with whatever else runs: three times the GPU budget
  if [ "$DRY" = 1 ]; then limit=$(( limit * 3 )); fi
  local t0; t0=$(date +%s)
  echo "== $name (at most ${limit} s)"
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 )) s" | tee -a "$OUT/steps.txt"
  tail -n 30 "$OUT/$name.log" | tr '\r' '\n' | tail -n 30
}

# the model table of bench_train.py with the shared options
bench=("$PY" "$BENCH" --device "$DEV" --threads "$THREADS" --steps "$STEPS" --blocks "$BLOCKS" --kinds --json "$FIG")

util_start() {
  if [ "$DRY" = 0 ] && command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=timestamp,index,utilization.gpu,memory.used \
      --format=csv -lms 500 >> "$OUT/util.csv" 2> /dev/null &
    UTIL_PID=$!
  fi
}
util_stop() {
  if [ -n "${UTIL_PID:-}" ]; then kill "$UTIL_PID" 2> /dev/null; wait "$UTIL_PID" 2> /dev/null; UTIL_PID=; fi
}

step env 20 bash -c "nvidia-smi || true; '$PY' -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(), torch.cuda.device_count())'"
cp "$OUT/env.log" "$OUT/env.txt"

# 1. the tests marked gpu (they skip cleanly without CUDA: the dry run shows collection)
step gpu_tests 50 "$PY" -m pytest -q -p no:cacheprovider -m gpu $(grep -l 'mark.gpu' tests/test_*.py)

# 2. the 5.1 M-parameter PointNet, L = 300 and 900, bf16 on/off, batch sizes up to memory
step pointnet5m 90 "${bench[@]}" --presets jetpointnet-5m --lengths "$L300" "$L900" --amp $BIG_AMP --compile off --batch $BIG_BATCH
# 3. torch.compile on, bf16 on (compilation time in the compile column)
if [ "$DRY" = 0 ]; then
  step pointnet5m_compile 75 "${bench[@]}" --presets jetpointnet-5m --lengths "$L300" "$L900" --amp on --compile on --batch 1024 4096
fi
# 4. the per-point zoo at L = 300 and 900, bf16 on/off
step zoo 75 "${bench[@]}" --presets small edgeconv-small transformer-small cnn-small gnn-small --lengths $ZOO_LENGTHS --amp on off --batch $ZOO_BATCH
if [ "$DRY" = 0 ]; then
  step zoo_compile 40 "${bench[@]}" --presets small edgeconv-small transformer-small --lengths "$L300" --amp on --compile on --batch 1024
fi

# 5. the loader alone (each kind's training stream, pinned, copied to the device)
step loader 40 "$PY" "$BENCH" --device "$DEV" --presets --kinds track jet event photon --workers $WORKERS --loader-samples "$LOADER_SAMPLES" --json "$FIG"

# 6. the real training loop on a synthetic track folder (L <= 302): loader + model
DATA="$OUT/data-track"
step make_data 30 "$PY" -c "import sys; sys.path.insert(0, 'tests'); from pathlib import Path; from synthetic_arrays import write_dataset; n = $SAMPLES // 8; write_dataset(Path('$DATA'), files={'train': 8, 'val': 1}, samples_per_file=n, max_cells=300)"
TRAIN=(-m jetpointnet.cli train --data "$DATA" --config "$TRAIN_CONFIG" --quiet
       --set train.device="$DEV" --set train.epochs="$EPOCHS" --set train.samples_per_epoch=null
       --set data.num_workers="$TRAIN_WORKERS" --set data.batch_size="$TRAIN_BATCH" --set train.tensorboard=false)
util_start
step train_bf16 60 "$PY" "${TRAIN[@]}" --out "$OUT/run-bf16" --set train.amp=true
if [ "$DRY" = 0 ]; then
  step train_bf16_compile 55 "$PY" "${TRAIN[@]}" --out "$OUT/run-bf16-compile" --set train.amp=true --set train.compile=true
fi
# 7. DDP through torchrun on every GPU (one GPU: the launch path with one rank)
step train_ddp 40 "$PY" -m torch.distributed.run --standalone --nproc-per-node "$NGPU" "${TRAIN[@]}" --out "$OUT/run-ddp" --set train.amp=true
util_stop

for run in "$OUT"/run-*; do
  [ -f "$run/log.csv" ] && { echo "-- $run/log.csv"; cut -d, -f1-5 "$run/log.csv"; }
done
echo "figures in $OUT (steps.txt, figures.jsonl, *.log)"
