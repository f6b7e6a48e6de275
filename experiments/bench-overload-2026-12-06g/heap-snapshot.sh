#!/bin/bash
# What a `switchboard serve` (event-loop, TCP, --overload on) holds after RATE calls a second for
# DUR s (300 and 30 by default; SIPp uac-rr/uas-rr, no quota, proxy on CPU 1): prints the
# `transactions` gauge, then writes a V8 heap snapshot here (--heapsnapshot-signal) for
# heap-by-constructor.py. Fixed ports 45060-45080. Bounded (DUR + 20 s).
# usage: [ROOT=TREE] [RATE=300] [DUR=30] heap-snapshot.sh
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-$(cd "$here/../.." && pwd)}; rate=${RATE:-300}; dur=${DUR:-30}; st=t1
uas=45060; port=45070; mport=45080
cd $here && rm -f ./*.heapsnapshot
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p $uas -t $st -timeout $((dur+20))s -max_socket 1000 -nostdin -bg > /dev/null 2>&1
taskset -c 1 node --heapsnapshot-signal=SIGUSR2 $root/packages/cli/bin/switchboard.js serve --model event-loop --listen tcp:127.0.0.1:$port --default-route "sip:127.0.0.1:$uas;transport=tcp" --metrics 127.0.0.1:$mport --overload on --log-level warn > /tmp/heap-snapshot-proxy.log 2>&1 &
ppid=$!; sleep 2
(taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p 46000 -s bob -key target 127.0.0.1:$uas -t $st -r $rate -m $((rate*dur)) -timeout $((dur+10))s -max_socket 1000 127.0.0.1:$port -nostdin > /dev/null 2>&1)
curl -s 127.0.0.1:$mport/metrics | grep -E "^switchboard_transactions\{"
kill -USR2 $ppid; sleep 8
kill -INT $ppid; sleep 1; pkill -f "uas-rr.xml -i 127.0.0.1 -p $uas"; ls -la ./*.heapsnapshot
