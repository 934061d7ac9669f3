#!/bin/sh
# Pretrains the transformer on IMDB sentences, adapts it to Yelp with LoRA, fine-tunes it fully for
# comparison, and prints before/after, trainable vs total parameters and the adapter file sizes.
#   sh examples/lora-sentiment/run.sh          (from anywhere; runs go to <repo>/runs/)
set -eu
cd "$(dirname "$0")/../.."
EX=examples/lora-sentiment
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

# Prints the figures of a run directory's evaluation.json (before/after when it has them) and its time.
summary() {
  node -e '
    const fs = require("node:fs");
    const [dir, label] = process.argv.slice(1);
    const ev = JSON.parse(fs.readFileSync(dir + "/evaluation.json", "utf8"));
    const run = JSON.parse(fs.readFileSync(dir + "/run.json", "utf8"));
    const f = (x) => x.toFixed(4);
    const secs = ((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1);
    let line = `${label}: accuracy ${f(ev.metrics.accuracy)}  rocAuc ${f(ev.metrics.rocAuc)}  (${ev.samples} test sentences, ${secs} s)`;
    if (ev.before) line += `\n  before ${f(ev.before.metrics.accuracy)} -> after ${f(ev.metrics.accuracy)}  (delta ${f(ev.delta.accuracy)})`;
    console.log(line);
  ' "$1" "$2"
}

rm -rf runs/reviews-transformer runs/yelp-lora runs/yelp-full
pnpm -s pipeline run $EX/base.yaml --out runs/reviews-transformer --no-progress
pnpm -s pipeline run $EX/lora.yaml --out runs/yelp-lora --no-progress 2>&1 | tee "$LOG"
pnpm -s pipeline run $EX/full.yaml --out runs/yelp-full --no-progress 2>&1 | tee -a "$LOG"

echo
summary runs/reviews-transformer "base (IMDB test)      "
summary runs/yelp-lora "LoRA on Yelp          "
summary runs/yelp-full "full fine-tune on Yelp"
grep -E 'parameters train' "$LOG"
echo "adapters: $(wc -c < runs/yelp-lora/adapters/adapters.bin) B adapters.bin + $(wc -c < runs/yelp-lora/adapters/adapters.json) B adapters.json; merged model weights.bin: $(wc -c < runs/yelp-lora/model/weights.bin) B"
