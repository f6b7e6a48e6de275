#!/bin/bash
# What a shed TCP request costs the proxy itself (bench-overload-2026-12-06e README): `switchboard serve`
# (the event-loop, one TCP listener, --overload on with --overload-utilization 0, so every sample is
# busy and it limits throughout, admitting about one new request a second), pinned to CPU 1 with no
# quota, fed SIPp-shaped INVITEs by ../bench-overload-2026-12-06d/tcp-shed-cost.mjs's sender on CPU 0
# (2,900 a second, TCP_NODELAY, a batch every BATCH ms, 1 by default). After WAIT seconds (36 by
# default: the INVITE transactions admitted before the first cut have ended, Timer B being 32 s) it
# reads the proxy's CPU time (/proc/PID/stat) and read syscalls (/proc/PID/io) over 5 s, with one
# /metrics scrape at each end outside that window (a scrape costs the proxy 3-10 ms), and prints CPU
# per request shed. Bounded: the sender stops after WAIT + 7 s, then the proxy is killed.
# Usage: [ROOT=TREE] [WAIT=36] [BATCH=1] [PERF=1] [NODEFLAGS=...] in-situ-shed-cost.sh [extra serve flags...]
# Fixed ports 45170 (SIP) and 45180 (metrics); PERF=1 records perf (-F 10000) for 4 s into perf.data here.
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-$(cd "$here/../.." && pwd)}; extra="$*"
port=45170; mport=45180
taskset -c 1 node $NODEFLAGS $root/packages/cli/bin/switchboard.js serve --model event-loop --listen tcp:127.0.0.1:$port --default-route 'sip:127.0.0.1:9;transport=udp' --metrics 127.0.0.1:$mport --overload on --overload-utilization 0 --log-level warn $extra > /tmp/in-situ-proxy.log 2>&1 &
ppid=$!
sleep 2
pid=$(pgrep -f "switchboard.js serve --model event-loop --listen tcp:127.0.0.1:$port")
taskset -c 0 node $here/../bench-overload-2026-12-06d/tcp-shed-cost.mjs sender $port 2900 $((${WAIT:-36} + 7)) ${BATCH:-1} &
spid=$!
sleep ${WAIT:-36}
[ -n "$PERF" ] && (timeout -s INT 4 perf record -F 10000 -p $pid -o $here/perf.data > /dev/null 2>&1 &)
m() { awk -v n="switchboard_$2" 'index($1,n"{")==1||$1==n{s+=$2} END{print s+0}' $1; }
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
syscr() { awk '/^syscr/{print $2}' /proc/$pid/io; }
curl -s 127.0.0.1:$mport/metrics > /tmp/in-situ-m0; c0=$(cpu); y0=$(syscr)
sleep 5
c1=$(cpu); y1=$(syscr); curl -s 127.0.0.1:$mport/metrics > /tmp/in-situ-m1
s0=$(m /tmp/in-situ-m0 overload_shed_total); s1=$(m /tmp/in-situ-m1 overload_shed_total)
r0=$(m /tmp/in-situ-m0 requests_received_total); r1=$(m /tmp/in-situ-m1 requests_received_total)
tck=$(getconf CLK_TCK)
python3 -c "
c=($c1-$c0)/$tck; s=$s1-$s0; r=$r1-$r0; y=$y1-$y0
print(f'cpu {c*1000:.0f} ms over 5 s, shed {s}, parsed requests {r}: {c/max(s,1)*1e6:.2f} us a request shed, {y} read syscalls')"
wait $spid
kill $ppid; wait $ppid 2>/dev/null
