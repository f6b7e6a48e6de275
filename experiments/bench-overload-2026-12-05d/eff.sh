#!/bin/bash
# usage: eff.sh ROUNDS codeA=root codeB=root ...  (thread-pool and process-pool, UDP and TCP, 300 calls/s)
rounds=$1; shift
out=/work/bench-ov/s43/efficiency
mkdir -p $out
for r in $(seq 1 $rounds); do
  for pair in "$@"; do
    code=${pair%%=*}; root=${pair#*=}
    node $root/packages/lab/dist/efficiency-bench.js --proxies thread-pool,process-pool --transports udp,tcp --repeats 1 --rate 300 --out $out/$code-$r > $out/$code-$r.txt 2>&1
  done
done
