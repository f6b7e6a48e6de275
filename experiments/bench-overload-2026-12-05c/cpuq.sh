#!/bin/bash
# the group-CPU utilization signal (diag42, SWITCHBOARD_CPU_QUOTA=0.15) against c29cc6e, thread-pool UDP, interleaved
for r in 6 7; do
  node /work/main/scripts/bench-overload.mjs --models thread-pool --transports udp --overload on --factors 2,4,8 --capacity thread-pool:udp=455 --root /work/ref42 > ab-$r-ref-udp-thread-pool.log 2>&1
  rm -f /tmp/diag42/*
  SWITCHBOARD_CPU_QUOTA=0.15 node /work/main/scripts/bench-overload.mjs --models thread-pool --transports udp --overload on --factors 2,4,8 --capacity thread-pool:udp=455 --root /work/diag42 > ab-$r-cpuq-udp-thread-pool.log 2>&1
  mkdir -p cpuq-traces-$r && cp /tmp/diag42/* cpuq-traces-$r/
done
