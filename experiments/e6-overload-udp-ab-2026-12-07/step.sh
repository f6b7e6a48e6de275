#!/bin/bash
# step.sh TREE TAG RATE [SERVEFLAGS...]: one step of E6-overload over UDP with control on, as
# configs/experiments/e6-overload.yaml runs it: a fresh event-loop proxy built in TREE with
# --overload on in a cgroup v1 quota of 0.15 core on CPU 0 (as root), and the registration bench
# (15,000 clients, 35 s warm-up, 10 s window, 32 s timeout, 2 processes on CPU 1) at RATE
# REGISTERs/s. The bench is BENCH_TREE's (default: this checkout), whatever TREE is, so arms
# differ only in the proxy. Writes AB_OUT/TAG-RATE.json (the bench result) and -proxy.log (its
# stop line has the counters) and prints one line: goodput /s over the window, success, failures,
# proxy CPU % and the proxy's run counters (requests received, 503s, dropped, ms limiting, GC).
# STEP_MODEL (serve's model flags), STEP_TRANSPORT and STEP_CLIENTS run another model or
# transport the same way (defaults: --model event-loop --state local, udp, 15,000).
TREE=$1; TAG=$2; RATE=$3; shift 3
OUT=${AB_OUT:-/work/e6ab}; mkdir -p $OUT
cg=/sys/fs/cgroup/cpu/ab-$TAG; cs=/sys/fs/cgroup/cpuset/ab-$TAG
mkdir -p $cg $cs; echo 100000 > $cg/cpu.cfs_period_us; echo 15000 > $cg/cpu.cfs_quota_us
echo 0 > $cs/cpuset.cpus; echo 0 > $cs/cpuset.mems
PORT=$(python3 -c 'import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
MPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
LOG=$OUT/$TAG-$RATE-proxy.log
sh -c "echo \$\$ > $cg/cgroup.procs; echo \$\$ > $cs/cgroup.procs; exec node $TREE/packages/cli/bin/switchboard.js serve --listen udp:127.0.0.1:$PORT --listen tcp:127.0.0.1:$PORT --domain bench.test ${STEP_MODEL:---model event-loop --state local} --idle-strategy heap --metrics 127.0.0.1:$MPORT --log-level info --idle-timeout 600 --overload on $*" > $LOG 2>&1 &
PPID_=$!
for i in $(seq 1 100); do grep -q '"ready"\|ready' $LOG 2>/dev/null && break; sleep 0.1; done
node ${BENCH_TREE:-$(cd "$(dirname "$0")" && git rev-parse --show-toplevel)}/packages/cli/bin/switchboard.js bench --proxy 127.0.0.1:$PORT --domain bench.test --transport ${STEP_TRANSPORT:-udp} --workload registration --rate $RATE --clients ${STEP_CLIENTS:-15000} --duration 10 --warmup 35 --timeout 32000 --procs 2 --expires 3600 --file-limit 20000 --generator-cpus 1 --proxy-pid $PPID_ --proxy-metrics http://127.0.0.1:$MPORT/metrics --quiet --out $OUT/$TAG-$RATE.json > $OUT/$TAG-$RATE-bench.log 2>&1
kill -TERM $PPID_; for i in $(seq 1 50); do kill -0 $PPID_ 2>/dev/null || break; sleep 0.1; done; kill -9 $PPID_ 2>/dev/null
sleep 1; rmdir $cg $cs 2>/dev/null
python3 "$(dirname "$0")/step-line.py" $OUT/$TAG-$RATE.json $LOG
