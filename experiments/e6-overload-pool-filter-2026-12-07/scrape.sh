#!/bin/bash
# scrape.sh OUT: while a step's proxy runs, its --metrics once a second: every worker's share of
# REGISTERs kept, admitted rate and overload counters (lines of the workers' samples, timestamped).
OUT=$1; : > $OUT
for i in $(seq 1 40); do
  PORT=$(ps -eo args | grep -o 'serve .*--metrics 127.0.0.1:[0-9]*' | grep -o '[0-9]*$' | head -1)
  [ -n "$PORT" ] && break; sleep 0.5
done
while ps -eo args | grep -q "[-]-metrics 127.0.0.1:$PORT"; do
  curl -s --max-time 1 http://127.0.0.1:$PORT/metrics | grep -E '^switchboard_(overload_(kernel_register_pass|admitted_rate|rejected_total|dropped_total|shed_total)|requests_received_total)\{' | sed "s/^/$(date +%s.%N | cut -c1-14) /" >> $OUT
  sleep 1
done
