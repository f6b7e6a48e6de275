#!/bin/bash
# A diagnostic, not the bench: one proxy in a 0.15-core cgroup v1 quota on CPU 1, SIPp on CPU 0,
# a warm-up (RAMPSTEP seconds each at 0.1, 0.2, 0.4, 0.6x RATE, or L: the capacity ladder's steps
# up to 0.6x RATE, 5 s each), then RATE calls/s for SECONDS; the proxy's metrics sampled every
# second (sample.mjs; show.py prints them as a table). Needs root. Fixed ports 45060-45090.
# diag: MODEL RATE SECONDS [RAMPSTEP] [extra serve flags...]  -> samples per 0.5 s of metrics + cgroup
model=$1; rate=$2; secs=$3; rs=${4:-3}; shift 4
here=$(cd "$(dirname "$0")" && pwd)
root=${ROOT:-$(cd "$here/../../.." && pwd)}
out=$here/$model-$rate-$(date +%H%M%S); mkdir -p $out; cd $out
cg=/sys/fs/cgroup/cpu/sbdiag; mkdir -p $cg; echo 100000 > $cg/cpu.cfs_period_us; echo 15000 > $cg/cpu.cfs_quota_us
uas=45060; port=45070; mport=45080
redis-server --port 45090 --save '' --appendonly no --daemonize no > redis.log 2>&1 & rpid=$!
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p $uas -t u1 -timeout 600s -max_socket 1000 -nostdin -bg > /dev/null 2>&1
extra=""; [ "$model" != event-loop ] && extra="--workers 2"; [ "$model" = process-pool ] && extra="$extra --redis-url redis://127.0.0.1:45090"
sh -c "echo \$\$ > $cg/cgroup.procs && exec taskset -c 1 nice -n -10 node $root/packages/cli/bin/switchboard.js serve --model $model $extra --listen udp:127.0.0.1:$port --listen tcp:127.0.0.1:$port --default-route 'sip:127.0.0.1:$uas;transport=udp' --metrics 127.0.0.1:$mport --log-level info $*" > proxy.log 2>&1 &
ppid=$!
until grep -q '"msg":"ready"' proxy.log; do sleep 0.2; done; sleep 1
node $here/sample.mjs $mport $cg >> samples.txt &
spid=$!
cp=46000
if [ "$rs" = L ]; then steps=$(python3 -c "
r=25;out=[]
while r<=0.6*$rate: out.append(r); r=round(r*1.25)
print(' '.join(map(str,out)))"); rs=5; else steps=""; for f in 0.1 0.2 0.4 0.6; do steps="$steps $(python3 -c "print(max(1,round($rate*$f)))")"; done; fi
for r in $steps; do f=$r; m=$((r*rs)); mkdir -p warm-$f; (cd warm-$f && taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p $cp -s bob -key target 127.0.0.1:$uas -t u1 -r $r -m $m -l 100000 -trace_rtt -rtt_freq 1 -timeout $((rs+12))s -max_socket 1000 127.0.0.1:$port -nostdin > /dev/null 2>&1); cp=$((cp+1)); echo "warm $f done $(date +%s.%N)" >> samples.txt; done
echo "main start $(date +%s.%N)" >> samples.txt
mkdir -p main; (cd main && timeout $((secs+10)) taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p $cp -s bob -key target 127.0.0.1:$uas -t u1 -r $rate -m $((rate*secs)) -l 100000 -trace_rtt -rtt_freq 1 -trace_stat -fd 1 -timeout $((secs+8))s -max_socket 1000 127.0.0.1:$port -nostdin > /dev/null 2>&1)
echo "main end $(date +%s.%N)" >> samples.txt
kill $spid; kill $ppid; pkill -f "switchboard.js serve --model $model"; pkill sipp; kill $rpid; sleep 1; rmdir $cg 2>/dev/null
f=$(ls main/*_rtt.csv); awk -F';' 'NR>1{s=int(($1-$2)/1000); n[s]++; if($2<=500)g[s]++} END{for(k=0;k<20;k++) printf "%s/%s ", g[k]+0, n[k]+0; print ""}' $f
echo $out
