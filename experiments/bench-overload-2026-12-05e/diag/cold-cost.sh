#!/bin/bash
# CPU per call of a fresh process-pool (0.15-core cgroup v1 quota on CPU 1, control off, UDP) at
# 25 calls/s for 20 s, then after a climb of 49..149 calls/s (5 s each), at 25 calls/s for 20 s
# again: the CPU of every thread of the proxy's processes (/proc/PID/task/*/stat, utime+stime)
# over each 25/s phase. Needs root; fixed ports 45061-45092. Prints one line per phase.
here=$(cd "$(dirname "$0")" && pwd); root=${ROOT:-$(cd "$here/../../.." && pwd)}
cg=/sys/fs/cgroup/cpu/sbcold; mkdir -p $cg; echo 100000 > $cg/cpu.cfs_period_us; echo 15000 > $cg/cpu.cfs_quota_us
work=$(mktemp -d); cd $work
redis-server --port 45092 --save '' --appendonly no > /dev/null 2>&1 & rpid=$!
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p 45061 -t u1 -nostdin -bg > /dev/null 2>&1
sh -c "echo \$\$ > $cg/cgroup.procs && exec taskset -c 1 nice -n -10 node $root/packages/cli/bin/switchboard.js serve --model process-pool --workers 2 --redis-url redis://127.0.0.1:45092 --listen udp:127.0.0.1:45172 --default-route 'sip:127.0.0.1:45061;transport=udp' --log-level info" > proxy.log 2>&1 &
until grep -q '"msg":"ready"' proxy.log; do sleep 0.3; done; sleep 2
ticks() { t=0; for p in $(cat $cg/cgroup.procs); do for s in /proc/$p/task/*/stat; do t=$((t + $(awk '{print $14+$15}' $s))); done; done; echo $t; }
calls() { taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p 45062 -s bob -key target 127.0.0.1:45061 -t u1 -r $1 -m $(($1 * $2)) 127.0.0.1:45172 -nostdin -timeout $(($2 + 15))s > /dev/null 2>&1; }
hz=$(getconf CLK_TCK)
a=$(ticks); calls 25 20; b=$(ticks); echo "fresh: 500 calls at 25/s, $((b - a)) ticks of $hz/s: $(python3 -c "print(round(($b-$a)/$hz/500*1000,2))") ms of CPU a call"
for r in 49 61 76 95 119 149; do calls $r 5; done
a=$(ticks); calls 25 20; b=$(ticks); echo "after the climb: 500 calls at 25/s, $((b - a)) ticks: $(python3 -c "print(round(($b-$a)/$hz/500*1000,2))") ms of CPU a call"
pkill -f "switchboard.js serve --model process-pool --workers 2 --redis-url redis://127.0.0.1:45092"; pkill -f "sipp -sf $root/test/interop/scenarios/uas-rr.xml"; kill $rpid; sleep 1; rmdir $cg; rm -rf $work
