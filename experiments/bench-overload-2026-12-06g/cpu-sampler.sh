#!/bin/bash
# Every second: the CPU (ms, from /proc/PID/stat) each SIPp process (uac-rr, uas-rr) and each
# `switchboard serve` process used since the last line, and the idle share of CPU 0 and CPU 1.
# Runs until killed; start it beside 06b/diag/run.sh (cpu-sampler.sh > FILE &).
tck=$(getconf CLK_TCK); declare -A prev
while true; do
  line="$(date +%s.%N | cut -c1-14)"
  for p in $(pgrep -x sipp) $(pgrep -f "switchboard.js serve"); do
    [ -r /proc/$p/stat ] || continue
    t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null); [ -z "$t" ] && continue
    name=$(tr '\0' ' ' < /proc/$p/cmdline | grep -o 'uac-rr\|uas-rr\|serve' | head -1)
    [ -n "${prev[$p]}" ] && line="$line $name:$p=$(( (t - ${prev[$p]}) * 1000 / tck ))"
    prev[$p]=$t
  done
  for c in cpu0 cpu1; do read -r _ u n s i w x y _ < <(grep "^$c " /proc/stat); eval "pi=\${pi_$c:-0}; pt=\${pt_$c:-0}"; tot=$((u+n+s+i+w+x+y)); line="$line $c-idle=$(( pt>0 ? (i-pi)*100/(tot-pt) : -1 ))%"; eval "pi_$c=$i; pt_$c=$tot"; done
  echo "$line"; sleep 1
done
