#!/bin/sh
# Trains the MLP without and with FGSM adversarial training and prints clean vs robust accuracy of both.
#   sh examples/adversarial-mnist/run.sh          (from anywhere; runs go to <repo>/runs/)
#   extra arguments go to both runs, e.g.  sh examples/adversarial-mnist/run.sh --set evaluate.robust.epsilon=0.2
set -eu
cd "$(dirname "$0")/../.."
EX=examples/adversarial-mnist

# Prints clean and robust accuracy from a run directory's evaluation.json, and the run's time.
summary() {
  node -e '
    const fs = require("node:fs");
    const [dir, label] = process.argv.slice(1);
    const ev = JSON.parse(fs.readFileSync(dir + "/evaluation.json", "utf8"));
    const run = JSON.parse(fs.readFileSync(dir + "/run.json", "utf8"));
    const secs = ((Date.parse(run.endedAt) - Date.parse(run.startedAt)) / 1000).toFixed(1);
    const r = ev.robust;
    console.log(`${label}: clean ${ev.metrics.accuracy.toFixed(4)}  robust ${r.robustAccuracy.toFixed(4)}` +
      `  (${r.attack.type} epsilon ${r.attack.epsilon}, ${r.samples} test digits, ${secs} s)`);
  ' "$1" "$2"
}

rm -rf runs/mnist-plain runs/mnist-adversarial
pnpm -s pipeline run $EX/plain.yaml --out runs/mnist-plain --no-progress "$@"
pnpm -s pipeline run $EX/adversarial.yaml --out runs/mnist-adversarial --no-progress "$@"

echo
summary runs/mnist-plain "plain training      "
summary runs/mnist-adversarial "adversarial training"
