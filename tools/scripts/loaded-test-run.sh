#!/usr/bin/env bash
# The README's test command from a fresh clone while another process keeps one core busy (issue 22's check):
#   bash tools/scripts/loaded-test-run.sh [runs=3]
# Prints one line per run: exit code and wall time of `npx -y pnpm@10 install && npx -y pnpm@10 test`.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-3}
for n in $(seq 1 "$runs"); do
  dir=$(mktemp -d)
  git clone -q "$repo" "$dir/tfpipe" || exit 1
  node -e 'for(;;){}' &
  hog=$!
  start=$(date +%s)
  (cd "$dir/tfpipe" && npx -y pnpm@10 install && npx -y pnpm@10 test) > "$dir/test.log" 2>&1
  rc=$?
  kill "$hog"
  echo "run $n: exit $rc, $(( $(date +%s) - start )) s (install + tests), log $dir/test.log"
done
