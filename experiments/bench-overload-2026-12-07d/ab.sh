#!/bin/bash
# Interleaved rounds of bench:overload, one point per arm per round (06c's ab.sh with serve flags):
#   ab.sh ROUNDS MODELS FACTORS TRANSPORT "CAPACITIES" NAME=TREE[|NODE-OPTIONS[|SERVE-FLAGS]]...
# e.g. ab.sh 3 event-loop 2,4,8 tcp "event-loop:tcp=889" a=/work/ba "r=/work/bc||--overload-reject-rate 20"
# NODE-OPTIONS are node's flags for that arm's proxy (bench-overload's --node-options), SERVE-FLAGS
# its serve flags with --overload on (bench-overload's --flags).
# Logs go to $AB_OUT (default: this folder): ab-<round>-<name>-<transport>-<models>-<factors>x.log
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
