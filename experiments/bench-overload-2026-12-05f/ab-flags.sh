#!/bin/bash
# A/B by serve flags on one tree, interleaved per model: ab-flags.sh FIRST LAST MODELS CAPS FACTORS ROOT code=FLAGS ...
# (FLAGS added to --overload on; "code=" for the defaults). Logs: ab-<round>-<code>-udp-<model>.log here.
first=$1; rounds=$2; models=$3; caps=$4; factors=$5; root=$6; shift 6
out=$(cd "$(dirname "$0")" && pwd)
for r in $(seq $first $rounds); do
  for m in ${models//,/ }; do
  for pair in "$@"; do
    code=${pair%%=*}; flags=${pair#*=}
    node "$root/scripts/bench-overload.mjs" --models $m --transports udp --overload on --factors $factors --capacity "$caps" --sustain off --root $root ${flags:+--flags "$flags"} > $out/ab-$r-$code-udp-$m.log 2>&1
  done
  done
done
