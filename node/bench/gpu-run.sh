#!/usr/bin/env bash
# The GPU run of issue 17, for a lent GPU machine that has no node.js and no registry
# (../shared/gpu-kit/README.md). Two halves:
#
#   bash node/bench/gpu-run.sh build        # here, after `npm run setup`: the kit's payload (.gpu/,
#                                           # ~19 MiB) + node/bench/gpu-bench.ts bundled into it
#   OUT=/tmp/gpu-out SMALL=1 bash .gpu/gpu-run.sh   # here too, on the CPU: the same run, 2-layer models
#                                           # (its model generator needs python3 with numpy, as the
#                                           # GPU machine has: `pip install numpy` here)
#   bash .gpu/gpu-run.sh                     # there (device `run`, carry [".gpu"], timeout ~560 s)
#
# There it runs the kit's check (machine, backends that load, the probe, the engine, bare throughput)
# and then `gpu-bench` on the kit's random-weight 0.5B- and 7B-shape models: the chosen backend, the
# engine ÷ bare decode, prompt tok/s, 8 slots through the engine, one context × 8 sequences vs 8
# contexts, and the share of the bandwidth ceiling. Everything lands in $OUT (default $OUT of the
# device call): gpu-check.log, gpu-report.json, gpu-details.tar.gz, gpu-bench.log.
set -uo pipefail

if [ "${1:-}" = build ]; then
  set -e
  ROOT=$(cd "$(dirname "$0")/../.." && pwd)
  KIT=${GPU_KIT:-$ROOT/../shared/gpu-kit}
  cd "$ROOT"
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
  grep -qx '/.gpu-build/' .git/info/exclude 2>/dev/null || echo '/.gpu-build/' >> .git/info/exclude
  # The kit with this checkout's project entry (gpu-kit-entry.ts: today's module paths and engine set-up).
  rm -rf .gpu-build/kit && mkdir -p .gpu-build && cp -r "$KIT" .gpu-build/kit
  cp node/bench/gpu-kit-entry.ts .gpu-build/kit/src/project-entry.ts
  bash .gpu-build/kit/src/build-payload.sh
  node_modules/.bin/esbuild node/bench/gpu-bench.ts --bundle --platform=node --format=esm --target=node20 \
    --external:node-llama-cpp --external:systeminformation --outfile=.gpu/gpu-bench.mjs --log-level=warning \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
  cp node/bench/gpu-run.sh .gpu/gpu-run.sh && chmod 755 .gpu/gpu-run.sh
  du -sb .gpu
  exit 0
fi

# ---- on the GPU machine (or here with SMALL=1) ----
G=$(cd "$(dirname "$0")" && pwd)
: "${OUT:?set OUT to an output folder}"
export WORK=${WORK:-/tmp/ripple-gpu}
# The bundled project code finds no checkout around it here: its paths start at the kit's app folder.
export RIPPLE_REPO_ROOT=${RIPPLE_REPO_ROOT:-$WORK/rm/app}
mkdir -p "$OUT"
# The kit's check first; it unpacks node + node-llama-cpp under $WORK/rm and writes the models.
DEADLINE_S=${DEADLINE_S:-330} bash "$G/run.sh" 2>&1 | tee "$OUT/gpu-check.log"
R=$WORK/rm
cp "$G/gpu-bench.mjs" "$R/app/gpu-bench.mjs"   # beside the payload's node_modules
MODELS=$(python3 -c 'import json,sys; print(",".join(json.loads(l)["path"] for l in open(sys.argv[1])))' "$WORK/models.jsonl" 2>/dev/null)
[ -n "$MODELS" ] || { echo "gpu-run: no models were generated (see gpu-check.log)"; exit 1; }
# The Vulkan loader and driver as the kit's run.sh found them (its exports end with it).
[ -d "$WORK/sysroot/usr/lib/x86_64-linux-gnu" ] && export LD_LIBRARY_PATH="$WORK/sysroot/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
[ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH="/usr/local/nvidia/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for icd in /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json /usr/local/nvidia/share/vulkan/icd.d/*.json /usr/local/share/vulkan/icd.d/nvidia*.json "$WORK/nvidia_icd.json"; do
  [ -f "$icd" ] && { export VK_DRIVER_FILES=$icd; break; }
done
RIPPLE_GPU_BENCH_MODELS=$MODELS RIPPLE_GPU_BENCH_THREADS=${RIPPLE_GPU_BENCH_THREADS:-8} RIPPLE_GPU_BENCH_RUNS=${RIPPLE_GPU_BENCH_RUNS:-3} \
  timeout -k 5 "${BENCH_S:-200}" "$R/node" "$R/app/gpu-bench.mjs" 2>&1 | tee "$OUT/gpu-bench.log"
