#!/bin/bash
# A/B rotation, 2 rounds: main vs udpmem (UDP, control on), main vs ref38 (TCP, control on); capacities from the main run of 06:56.
CAP=event-loop:udp=455,event-loop:tcp=455,thread-pool:udp=364,thread-pool:tcp=711,process-pool:udp=569,process-pool:tcp=455
cd /work/main
for round in 1 2; do
  for pair in "main udp /work/main" "udpmem udp /work/udpmem" "main tcp /work/main" "ref38 tcp /work/ref38"; do
    set -- $pair
    echo "== round $round $1 $2 $(date -u +%T)"
    node scripts/bench-overload.mjs --root $3 --transports $2 --overload on --capacity $CAP > /work/bench-ov/ab-$round-$1-$2.log 2>&1
  done
done
echo "== done $(date -u +%T)"
