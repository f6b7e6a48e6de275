#!/bin/bash
# A diagnostic, not the bench: one proxy in a 0.15-core cgroup v1 quota on CPU 1 (nice -10), SIPp
# (caller and callee, one connection each over TCP, or UDP) on CPU 0; a warm-up (the capacity
# ladder's steps from 25 calls/s up to 0.6x CAP, 5 s each), then CAP*FACTOR calls/s for DUR s (8 by default), then
# 0.8x CAP for 10 s (recovery). The proxy's metrics and the cgroup's throttling sampled every
# second (bench-overload-2026-12-05e/diag/sample.mjs). PROF=1 writes a V8 CPU profile (--cpu-prof) of the first proxy process to prof/ (wall clock:
# misleading under a quota, see the README).
# PERF=1: perf record (cpu-clock, on-CPU time only) of every proxy process from 1 s to 7 s into the
# overload, with --perf-basic-prof-only-functions for JS names. WARM=0 skips the warm-up. Needs root. Fixed ports 45060-45090.
# usage: T=tcp|udp [DUR=8] run.sh MODEL CAP FACTOR [extra serve flags...]
model=$1; cap=$2; factor=$3; shift 3
t=${T:-tcp}; st=t1; [ "$t" = udp ] && st=u1
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-$(cd "$here/../../.." && pwd)}
out=$here/$model-$t-$cap-${factor}x-$(date +%H%M%S); mkdir -p $out; cd $out
cg=/sys/fs/cgroup/cpu/sbdiag; mkdir -p $cg; echo 100000 > $cg/cpu.cfs_period_us; echo 15000 > $cg/cpu.cfs_quota_us
uas=45060; port=45070; mport=45080
redis-server --port 45090 --save '' --appendonly no --daemonize no > redis.log 2>&1 & rpid=$!
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p $uas -t $st -timeout 600s -max_socket 1000 -nostdin -bg > /dev/null 2>&1
extra=""; [ "$model" != event-loop ] && extra="--workers 2"; [ "$model" = process-pool ] && extra="$extra --redis-url redis://127.0.0.1:45090"
prof=""; [ "$PROF" = 1 ] && prof="--cpu-prof --cpu-prof-dir=$out/prof"; [ "$PERF" = 1 ] && prof="--perf-basic-prof-only-functions"
sh -c "echo \$\$ > $cg/cgroup.procs && exec taskset -c 1 nice -n -10 node $prof $root/packages/cli/bin/switchboard.js serve --model $model $extra --listen udp:127.0.0.1:$port --listen tcp:127.0.0.1:$port --default-route 'sip:127.0.0.1:$uas;transport=$t' --metrics 127.0.0.1:$mport --overload on --log-level info $*" > proxy.log 2>&1 &
ppid=$!
until grep -q '"msg":"ready"' proxy.log; do sleep 0.2; done; sleep 1
node $here/../../bench-overload-2026-12-05e/diag/sample.mjs $mport $cg >> samples.txt &
spid=$!
cp=46000
steps=$(python3 -c "
r=25;out=[]
while r<=0.6*$cap and \"$WARM\" != \"0\": out.append(r); r=round(r*1.25)
print(' '.join(map(str,out)))")
uac() { # dir rate calls seconds
  mkdir -p $1; (cd $1 && timeout $(($4+16)) taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p $cp -s bob -key target 127.0.0.1:$uas -t $st -r $2 -m $3 -l 100000 -trace_rtt -rtt_freq 1 -timeout $(($4+6))s -max_socket 1000 127.0.0.1:$port -nostdin > /dev/null 2>&1); }
for r in $steps; do uac warm-$r $r $((r*5)) 5; cp=$((cp+1)); echo "warm $r done $(date +%s.%N)" >> samples.txt; done
over=$(python3 -c "print(round($cap*$factor))"); rec=$(python3 -c "print(round($cap*0.8))")
echo "overload $over start $(date +%s.%N)" >> samples.txt
dur=${DUR:-8}
uac over $over $((over*dur)) $dur & opid=$!; cp=$((cp+1))
[ "$PERF" = 1 ] && (sleep 1; timeout -s INT 6 perf record $PERFARGS -e cpu-clock -F 2000 -p $(pgrep -f "switchboard.js serve" | tr '\n' , | sed 's/,$//') -o $out/perf.data > /dev/null 2>&1) &
sleep $dur
echo "recovery $rec start $(date +%s.%N)" >> samples.txt
uac rec $rec $((rec*10)) 10
wait $opid
echo "end $(date +%s.%N)" >> samples.txt
kill $spid; kill -INT $ppid; sleep 2; kill $ppid 2>/dev/null; pkill -f "switchboard.js serve --model $model"; pkill sipp; kill $rpid; sleep 1; rmdir $cg 2>/dev/null
for d in over rec; do f=$(ls $d/*_rtt.csv); echo "$d good(<=4s)/sent per second:"; awk -F';' 'NR>1{s=int(($1-$2)/1000); n[s]++; if($2<=4000)g[s]++} END{for(k=0;k<30;k++) if(n[k]) printf "%s/%s ", g[k]+0, n[k]+0; print ""}' $f; done
echo $out
