#!/bin/bash
# samples CPU ticks (utime+stime) of every serve process (and its threads summed) every second: proccpu.sh PATTERN OUT
pat=$1; out=$2; : > $out
for i in $(seq 1 150); do
  line="$(date +%s.%N | cut -c1-14)"
  for pid in $(pgrep -f "$pat"); do line="$line $pid:$(awk '{print $14+$15}' /proc/$pid/stat 2>/dev/null)"; done
  r=$(pgrep -x redis-server | head -1); [ -n "$r" ] && line="$line redis:$(awk '{print $14+$15}' /proc/$r/stat)"
  echo "$line" >> $out
  sleep 1
done
