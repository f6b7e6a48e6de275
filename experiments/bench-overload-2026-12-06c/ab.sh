#!/bin/bash
# Interleaved A/B/C rounds of bench:overload, one point per tree per round:
#   ab.sh ROUNDS MODELS FACTORS TRANSPORT "CAPACITIES" NAME=TREE[|NODE-OPTIONS[|SERVE-FLAGS]]...
# e.g. ab.sh 2 event-loop 8 tcp "event-loop:tcp=364" a=/work/bt c=/work/bt3 "s=/work/bt|--max-semi-space-size=16"
#      ab.sh 3 event-loop 2,4,8 tcp "event-loop:tcp=889" a=/work/ba "r=/work/ba||--overload-reject-rate 20"
# NODE-OPTIONS (after a |) are node's flags for that arm's proxy (bench-overload's --node-options),
# SERVE-FLAGS (after a second |) its serve flags with --overload on (bench-overload's --flags).
# Logs go to $AB_OUT (default: this folder): ab-<round>-<name>-<transport>-<models>-<factors>x.log
# (the bench's own JSON lines).
set -u
rounds=$1 models=$2 factors=$3 transport=$4 caps=$5; shift 5
here=$(cd "$(dirname "$0")" && pwd)
out=${AB_OUT:-$here}
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  for pair in "$@"; do
    name=${pair%%=*} rest=${pair#*=}
    IFS='|' read -r tree options flags <<< "$rest"
    log="$out/ab-$round-$name-$transport-${models//,/+}-${factors//,/+}x.log"
    node "$here/../../scripts/bench-overload.mjs" --models "$models" --transports "$transport" --overload on \
      --factors "$factors" --capacity "$caps" --sustain off --root "$tree" --node-options "${options:-}" \
      --flags "${flags:-}" > "$log" 2>&1
  done
done
