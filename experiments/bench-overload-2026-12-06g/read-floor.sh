#!/bin/bash
# CPU a bare Node TCP reader (tcp-sink.mjs) spends per SIPp-shaped INVITE at 2,900 a second, one
# segment each (TCP_NODELAY, 06d's tcp-shed-cost.mjs sender), pinned to CPU 1, no quota; read
# over 5 s after 10 s of warm-up, as 06e's in-situ-shed-cost.sh reads the proxy. Compare with that
# script's "us a request shed": what the proxy adds to reading. Bounded (17 s). Port 45190.
# usage: [BATCH=1] read-floor.sh
here=$(cd "$(dirname "$0")" && pwd); port=45190
taskset -c 1 node $here/tcp-sink.mjs $port & pid=$!
sleep 1
taskset -c 0 node $here/../bench-overload-2026-12-06d/tcp-shed-cost.mjs sender $port 2900 17 ${BATCH:-1} & spid=$!
sleep 10
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }; syscr() { awk '/^syscr/{print $2}' /proc/$pid/io; }
c0=$(cpu); y0=$(syscr); sleep 5; c1=$(cpu); y1=$(syscr)
python3 -c "c=($c1-$c0)/$(getconf CLK_TCK); print(f'sink: cpu {c*1000:.0f} ms over 5 s = {c/(2900*5)*1e6:.2f} us per INVITE sent, {$y1-$y0} read syscalls')"
wait $spid; kill $pid
