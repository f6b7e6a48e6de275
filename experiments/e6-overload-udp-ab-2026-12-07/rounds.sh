#!/bin/bash
# rounds.sh ROUNDS "RATES" tag=TREE ...: step.sh for every arm at every rate, in interleaved
# rounds (the arms' order rotates each round); one line per step on stdout. STEP names another
# step script (e.g. experiments/e6-overload-pool-filter-2026-12-07/step.sh).
ROUNDS=$1; RATES=$2; shift 2
ARMS=("$@"); N=${#ARMS[@]}
for r in $(seq 1 $ROUNDS); do
  for rate in $RATES; do
    for i in $(seq 0 $((N-1))); do
      arm=${ARMS[$(( (i + r - 1) % N ))]}
      tag=${arm%%=*}; tree=${arm#*=}
      AB_OUT=${AB_OUT:-results/e6-overload-udp-ab} "${STEP:-$(dirname "$0")/step.sh}" $tree $tag-r$r $rate | sed "s/^/r$r $tag $rate /"
    done
  done
done
