#!/bin/bash
# lowrate.sh MODEL RATE SECS [serve flags]: per-thread CPU ticks and voluntary ctx switches of the proxy over a phase of RATE calls/s (UDP), cgroup 0.15 core on CPU 1 unless NOCG=1
model=$1; rate=$2; secs=$3; shift 3
root=${ROOT:-/work/main}
cg=/sys/fs/cgroup/cpu/sbprobe; mkdir -p $cg; echo 100000 > $cg/cpu.cfs_period_us; echo ${QUOTA:-15000} > $cg/cpu.cfs_quota_us
work=$(mktemp -d); cd $work
extra=""; [ "$model" != event-loop ] && extra="--workers 2"; [ "$model" = process-pool ] && { redis-server --port 45092 --save '' --appendonly no > /dev/null 2>&1 & rpid=$!; extra="$extra --redis-url redis://127.0.0.1:45092"; }
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p 45061 -t u1 -nostdin -bg > /dev/null 2>&1
sh -c "echo \$\$ > $cg/cgroup.procs && exec taskset -c 1 nice -n -10 node $root/packages/cli/bin/switchboard.js serve --model $model $extra --listen udp:127.0.0.1:45172 --default-route 'sip:127.0.0.1:45061;transport=udp' --log-level info $*" > proxy.log 2>&1 &
until grep -q '"msg":"ready"' proxy.log; do sleep 0.3; done; sleep 2
snap() { for p in $(cat $cg/cgroup.procs); do for t in /proc/$p/task/*; do n=$(cat $t/comm); s=$(awk '{print $14+$15}' $t/stat); v=$(awk '/^voluntary_ctxt/{print $2}' $t/status); nv=$(awk '/^nonvoluntary_ctxt/{print $2}' $t/status); echo "$p/${t##*/} $n $s $v $nv"; done; done; }
calls() { taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p 45062 -s bob -key target 127.0.0.1:45061 -t u1 -r $1 -m $(($1 * $2)) 127.0.0.1:45172 -nostdin -timeout $(($2 + 15))s > /dev/null 2>&1; }
snap > a.txt; t0=$(date +%s.%N); calls $rate $secs; t1=$(date +%s.%N); snap > b.txt
[ -n "$IDLE" ] && { sleep $secs; snap > c.txt; }
python3 - $rate $secs $t0 $t1 <<'PY'
import sys
rate,secs,t0,t1=int(sys.argv[1]),int(sys.argv[2]),float(sys.argv[3]),float(sys.argv[4])
def rd(f):
  d={}
  for l in open(f):
    k,n,s,v,nv=l.split(); d[k]=(n,int(s),int(v),int(nv))
  return d
a,b=rd('a.txt'),rd('b.txt')
tot=0
for k in b:
  if k not in a: continue
  n,s,v,nv=b[k]; ds=s-a[k][1]; dv=v-a[k][2]; dn=nv-a[k][3]; tot+=ds
  if ds or dv>50: print(f"{k:>16} {n:<16} cpu {ds*10:6d} ms  vol {dv:7d} ({dv/(t1-t0):6.0f}/s) invol {dn}")
print(f"total {tot*10} ms over {t1-t0:.1f} s, {rate*secs} calls: {tot*10/(rate*secs):.3f} ms/call, {tot*10/(t1-t0):.1f} ms/s")
import os
if os.path.exists('c.txt'):
  c=rd('c.txt'); it=sum(c[k][1]-b[k][1] for k in c if k in b); print(f"idle after: {it*10} ms over {secs} s")
PY
pkill -f "listen udp:127.0.0.1:45172"; pkill -f "uas-rr.xml -i 127.0.0.1 -p 45061"; [ -n "$rpid" ] && kill $rpid; sleep 1; rmdir $cg 2>/dev/null; rm -rf $work
