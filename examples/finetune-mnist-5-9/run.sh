#!/bin/sh
# Trains the 0-4 base, fine-tunes it to 5-9, trains the from-scratch control, and prints the figures.
#   sh examples/finetune-mnist-5-9/run.sh          (from anywhere; runs go to <repo>/runs/)
set -eu
cd "$(dirname "$0")/../.."
EX=examples/finetune-mnist-5-9

# Prints the figures of a run directory's evaluation.json (before/after when it has them) and its time.
summary() {
  node -e '
    const fs = require("node:fs");
    const [dir, label] = process.argv.slice(1);
    const ev = JSON.parse(fs.readFileSync(dir + "/evaluation.json", "utf8"));
    const run = JSON.parse(fs.readFileSync(dir + "/run.json", "utf8"));
    const f = (x) => (x === undefined ? "-" : x.toFixed(4));
    const secs = ((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1);
    let line = `${label}: accuracy ${f(ev.metrics.accuracy)}  f1 ${f(ev.metrics.f1)}  (${ev.samples} test digits, ${secs} s)`;
    if (ev.before) line += `\n  before ${f(ev.before.metrics.accuracy)} -> after ${f(ev.metrics.accuracy)}  (delta ${f(ev.delta.accuracy)})`;
    console.log(line);
  ' "$1" "$2"
}

rm -rf runs/mnist-0-4 runs/mnist-5-9-finetune runs/mnist-5-9-scratch
pnpm -s pipeline run $EX/base.yaml --out runs/mnist-0-4 --no-progress
pnpm -s pipeline run $EX/finetune.yaml --out runs/mnist-5-9-finetune --no-progress
pnpm -s pipeline run $EX/scratch.yaml --out runs/mnist-5-9-scratch --no-progress

echo
summary runs/mnist-0-4 "base (digits 0-4)"
summary runs/mnist-5-9-finetune "fine-tuned to 5-9"
summary runs/mnist-5-9-scratch "from scratch on 5-9"
