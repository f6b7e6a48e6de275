#!/bin/bash
# usage: ab.sh FIRST LAST MODELS TRANSPORTS CAPS FACTORS codeA=root codeB=root ...
first=$1; rounds=$2; models=$3; transports=$4; caps=$5; factors=$6; shift 6
out=$(cd "$(dirname "$0")" && pwd)
for r in $(seq $first $rounds); do
  for m in ${models//,/ }; do
  for t in ${transports//,/ }; do
  for pair in "$@"; do
    code=${pair%%=*}; root=${pair#*=}
    node "$out/../../scripts/bench-overload.mjs" --models $m --transports $t --overload on --factors $factors --capacity "$caps" --sustain off --root $root > $out/ab-$r-$code-$t-$m.log 2>&1
  done
  done
  done
done
