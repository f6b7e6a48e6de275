#!/bin/bash
# Used for bench-overload-2026-12-06i: perf-watch.sh RATE OUT N beside a bench:overload run with --node-options --perf-basic-prof-only-functions.
# For each overload point of a running bench:overload (event-loop, RATE calls/s offered), record the
# proxy on-CPU (perf cpu-clock, call graphs) from 1 s to 7 s into the overload. OUT/N.perf.data.
RATE=$1; OUT=$2; N=${3:-4}; mkdir -p $OUT
for i in $(seq 1 $N); do
  while ! pgrep -f "sipp .* -r $RATE " >/dev/null; do sleep 0.1; done
  sleep 1
  G=$(ls -d /sys/fs/cgroup/cpu/switchboard-overload-* | head -1)
  P=$(grep -v '^$' $G/cgroup.procs | head -1)
  echo "point $i proxy $P $(date +%s.%N)" >> $OUT/points.txt
  taskset -c 0 perf record -q -e cpu-clock -F 2000 -g -p $P -o $OUT/$i.perf.data -- sleep 6 2>>$OUT/perf.err
  while pgrep -f "sipp .* -r $RATE " >/dev/null; do sleep 0.2; done
done
