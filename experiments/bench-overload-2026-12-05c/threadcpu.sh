#!/bin/bash
# samples per-thread CPU ticks of the serve process every second: threadcpu.sh PATTERN OUT
pat=$1; out=$2; : > $out
for i in $(seq 1 120); do
  pid=$(pgrep -f "$pat" | head -1)
  if [ -n "$pid" ]; then
    line="$(date +%s.%N | cut -c1-14) pid=$pid"
    for t in /proc/$pid/task/*; do line="$line $(basename $t):$(cat $t/comm 2>/dev/null | tr ' ' _):$(awk '{print $14+$15}' $t/stat 2>/dev/null)"; done
    echo "$line" >> $out
  fi
  sleep 1
done
