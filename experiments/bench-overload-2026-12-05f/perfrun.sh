#!/bin/bash
# perfrun.sh MODEL RATE SECS : perf record of the proxy over a phase (no quota), report top symbols
model=$1; rate=$2; secs=$3; shift 3
root=${ROOT:-/work/main}; work=$(mktemp -d); cd $work
taskset -c 0 sipp -sf $root/test/interop/scenarios/uas-rr.xml -i 127.0.0.1 -p 45061 -t u1 -nostdin -bg > /dev/null 2>&1
taskset -c 1 node --perf-basic-prof $root/packages/cli/bin/switchboard.js serve --model $model --listen udp:127.0.0.1:45172 --default-route 'sip:127.0.0.1:45061;transport=udp' --log-level info $* > proxy.log 2>&1 &
pp=$!
until grep -q '"msg":"ready"' proxy.log; do sleep 0.3; done; sleep 2
perf record -F 4999 -g -p $pp -o perf.data -- sleep $((secs+1)) > /dev/null 2>&1 &
prec=$!
taskset -c 0 sipp -sf $root/test/interop/scenarios/uac-rr.xml -i 127.0.0.1 -p 45062 -s bob -key target 127.0.0.1:45061 -t u1 -r $rate -m $((rate*secs)) 127.0.0.1:45172 -nostdin -timeout $((secs+15))s > /dev/null 2>&1
wait $prec
perf report -i perf.data --no-children --sort dso -q 2>/dev/null | head -15
perf report -i perf.data --no-children --sort sym -q 2>/dev/null | grep -v "^$" | grep -v "^ *|" | grep -v "^ *-" | head -40
kill $pp; pkill -f "uas-rr.xml -i 127.0.0.1 -p 45061"; sleep 1; cp perf.data /work/probe/perf-$model-$rate.data; rm -rf $work
