#!/bin/bash
# Used for bench-overload-2026-12-06i: ss-sample.sh OUT SECONDS (pinned to the generator's CPU with taskset -c 0).
# Every 250 ms: epoch ms and the established TCP sockets on loopback with their queues.
OUT=$1; DUR=${2:-200}; end=$(( $(date +%s) + DUR ))
while [ $(date +%s) -lt $end ]; do
  echo "T $(date +%s%3N)"; ss -tnH state established '( src 127.0.0.1 )' 2>/dev/null | awk '{print $1, $2, $3, $4}'
  sleep 0.25
done > $OUT
