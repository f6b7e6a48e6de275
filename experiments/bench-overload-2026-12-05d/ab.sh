#!/bin/bash
# usage: ab.sh FIRST LAST MODELS TRANSPORTS CAPS FACTORS codeA=root codeB=root ...
first=$1; rounds=$2; models=$3; transports=$4; caps=$5; factors=$6; shift 6
out=/work/bench-ov/s43
for r in $(seq $first $rounds); do
  for pair in "$@"; do
    code=${pair%%=*}; root=${pair#*=}
    node /work/main/scripts/bench-overload.mjs --models $models --transports $transports --overload on --factors $factors --capacity "$caps" --root $root > $out/ab-$r-$code-${transports//,/-}-${models//,/-}.log 2>&1
  done
done
