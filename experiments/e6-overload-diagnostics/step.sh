#!/bin/bash
# usage: step.sh MODEL TRANSPORT OVERLOAD RATE CLIENTS [extra serve flags...]
MODEL=$1; TR=$2; OL=$3; RATE=$4; CLIENTS=$5; shift 5
cd /work/main
CG=sbdiag$$
mkdir -p /sys/fs/cgroup/cpu/$CG /sys/fs/cgroup/cpuset/$CG
echo 100000 > /sys/fs/cgroup/cpu/$CG/cpu.cfs_period_us; echo 15000 > /sys/fs/cgroup/cpu/$CG/cpu.cfs_quota_us
echo 0 > /sys/fs/cgroup/cpuset/$CG/cpuset.cpus; echo 0 > /sys/fs/cgroup/cpuset/$CG/cpuset.mems
PORT=$((20000 + RANDOM % 10000)); MP=$((PORT+1))
W=""; [ "$MODEL" != event-loop ] && W="--workers 2"
ST=""; [ "$MODEL" = thread-pool ] && ST="--state sab"
RP=""
if [ "$MODEL" = process-pool ]; then RPORT=$((PORT+2)); sh -c "echo \$\$ > /sys/fs/cgroup/cpu/$CG/tasks; echo \$\$ > /sys/fs/cgroup/cpuset/$CG/tasks; exec redis-server --port $RPORT --save '' --appendonly no --bind 127.0.0.1" > /tmp/diag/redis.log 2>&1 & RP=$!; sleep 0.5; ST="--state redis --redis-url redis://127.0.0.1:$RPORT"; fi
sh -c "echo \$\$ > /sys/fs/cgroup/cpu/$CG/tasks; echo \$\$ > /sys/fs/cgroup/cpuset/$CG/tasks; exec node packages/cli/bin/switchboard.js serve --model $MODEL $W $ST --listen $TR:127.0.0.1:$PORT --domain example.com --metrics 127.0.0.1:$MP --overload $OL --idle-timeout 600 $*" > /tmp/diag/serve.log 2>&1 &
SP=$!
for i in $(seq 1 120); do grep -q '"msg":"ready"' /tmp/diag/serve.log && break; sleep 0.5; done
taskset -c 1 node packages/cli/bin/switchboard.js bench --proxy 127.0.0.1:$PORT --transport $TR --workload registration --rate $RATE --clients $CLIENTS --arrivals deterministic --duration 10 --warmup ${WARMUP:-15} --timeout 32000 --procs 2 --proxy-pid $SP --proxy-metrics http://127.0.0.1:$MP/metrics --quiet --out /tmp/diag/out.json ${BENCHFLAGS} 2>/tmp/diag/bench.err
T0=$(date +%s%N); kill -TERM $SP; for i in $(seq 1 100); do kill -0 $SP 2>/dev/null || break; sleep 0.1; done; echo "  stop took $(( ($(date +%s%N) - T0) / 1000000 )) ms"; kill -9 $SP 2>/dev/null; [ -n "$RP" ] && kill $RP
pkill -f "listen $TR:127.0.0.1:$PORT" 2>/dev/null
sleep 1; rmdir /sys/fs/cgroup/cpu/$CG /sys/fs/cgroup/cpuset/$CG 2>/dev/null
node -e '
const r=require("/tmp/diag/out.json");const c=r.proxyCounters??{};
const w=r.windowSeconds;console.log("completed/s",(r.calls.completed/w).toFixed(0),"attempted",r.calls.attempted,"success",r.calls.successRatio,"fail",JSON.stringify(r.failures),"p99",r.latencyMs.register?.p99,"cpu%",r.proxy?.cpuPercentTotal);
const keys=Object.keys(c).filter(k=>/overload|received|requests/.test(k));for(const k of keys)console.log(" ",k,(c[k]/w).toFixed(1),"/s");if(r.proxyCountersError)console.log("countersError",r.proxyCountersError)'
