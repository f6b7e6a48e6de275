#!/bin/bash
# PSS and RSS (KB, smaps_rollup and status) of every process of an idle `switchboard serve --model
# MODEL` (2 workers for the pools), 3 s after it is ready. The process-pool needs a redis-server
# on 127.0.0.1:45091. Bounded (20 s to start). usage: idle-pss.sh TREE MODEL
root=$1; model=$2; shift 2
extra=""; [ "$model" != event-loop ] && extra="--workers 2"; [ "$model" = process-pool ] && extra="$extra --redis-url redis://127.0.0.1:45091"
node $root/packages/cli/bin/switchboard.js serve --model $model $extra --listen udp:127.0.0.1:0 --listen tcp:127.0.0.1:0 --log-level info "$@" > /tmp/idle-pss.log 2>&1 & p=$!
for k in $(seq 100); do grep -q '"msg":"ready"' /tmp/idle-pss.log && break; sleep 0.2; done; sleep 3
tot=0; line=""
for q in $p $(pgrep -P $p); do v=$(awk '/^Pss:/{print $2}' /proc/$q/smaps_rollup); r=$(awk '/^VmRSS/{print $2}' /proc/$q/status); line="$line pss=${v}K,rss=${r}K"; tot=$((tot+v)); done
echo "$model total PSS ${tot} KB:$line"
kill -INT $p; wait $p 2>/dev/null
