#!/bin/bash
# A diagnostic: CPU and system calls per call at fixed loads below capacity. One proxy (TCP, one
# connection per side) in a 0.15-core cgroup v1 quota on CPU 1 (nice -10), SIPp on CPU 0; 20 s
# of warm-up at 100 calls/s, then each RATE for 10 s: the proxy process tree's user+system time
# (/proc, clock ticks) and its read/write/writev/epoll_pwait calls (perf stat tracepoints) over
# the window, per completed call. Needs root. Fixed ports 45060-45090.
# usage: [ROOT=tree] cost.sh MODEL RATE...   (prints one line per rate)
model=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-$(cd "$here/../../.." && pwd)}
out=$(mktemp -d /tmp/cost-XXXX); cd $out
cg=/sys/fs/cgroup/cpu/sbcost; mkdir -p $cg; echo 100000 > $cg/cpu.cfs_period_us; echo 15000 > $cg/cpu.cfs_quota_us
uas=45060; port=45070
redis-server --port 45090 --save '' --appendonly no --daemonize no > redis.log 2>&1 & rpid=$!
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p $uas -t t1 -timeout 600s -max_socket 1000 -nostdin -bg > /dev/null 2>&1
extra=""; [ "$model" != event-loop ] && extra="--workers 2"; [ "$model" = process-pool ] && extra="$extra --redis-url redis://127.0.0.1:45090"
sh -c "echo \$\$ > $cg/cgroup.procs && exec taskset -c 1 nice -n -10 node $root/packages/cli/bin/switchboard.js serve --model $model $extra --listen tcp:127.0.0.1:$port --default-route 'sip:127.0.0.1:$uas;transport=tcp' --log-level info" > proxy.log 2>&1 &
ppid=$!
until grep -q '"msg":"ready"' proxy.log; do sleep 0.2; done; sleep 1
cp=46000
uac() { mkdir -p $1; (cd $1 && timeout $(($3+16)) taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p $cp -s bob -key target 127.0.0.1:$uas -t t1 -r $2 -m $(($2*$3)) -l 100000 -trace_rtt -rtt_freq 1 -timeout $(($3+6))s -max_socket 1000 127.0.0.1:$port -nostdin > /dev/null 2>&1); cp=$((cp+1)); }
ticks() { local t=0; for p in $(cat $cg/cgroup.procs); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $t; }
uac warm 100 20
pids=$(cat $cg/cgroup.procs | tr '\n' , | sed 's/,$//')
for rate in "$@"; do
  t0=$(ticks)
  perf stat -x, -e syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_pwait -p $pids -o perf-$rate.txt -- sleep 11 & spid=$!
  uac r$rate $rate 10
  wait $spid
  t1=$(ticks)
  calls=$(cat r$rate/*_rtt.csv | grep -c '^[0-9]')
  awk -F, -v calls=$calls -v ms=$(( (t1-t0)*10 )) -v rate=$rate 'BEGIN{printf "rate %d calls %d cpu_us_per_call %.0f", rate, calls, ms*1000/calls} /syscalls/{split($3,a,":"); printf " %s %.2f", substr(a[2],11), $1/calls} END{print ""}' perf-$rate.txt
done
kill -INT $ppid; sleep 2; pkill -f "switchboard.js serve --model $model"; pkill sipp; kill $rpid; sleep 1; rmdir $cg 2>/dev/null; rm -rf $out
