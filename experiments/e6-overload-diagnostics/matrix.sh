#!/bin/bash
# diag matrix at factor F: model transport capacity clients
cd /work/main
F=${F:-8}
while read M T CAP C; do
  rm -f /tmp/diag/out.json
  R=$((CAP*F))
  echo "== $M $T ${F}x rate $R ($BENCHFLAGS $*)"
  WARMUP=35 timeout 400 /tmp/diag/step.sh $M $T on $R $C "$@" 2>&1 | grep -E "completed|countersError|stop took"
  node --input-type=module -e "import {proxyRunTotals} from '/work/main/packages/lab/dist/experiment/proxy-run-totals.js'; import fs from 'node:fs'; const t=proxyRunTotals(fs.readFileSync('/tmp/diag/serve.log','utf8')); console.log('  run totals', JSON.stringify(t))"
  [ -s /tmp/diag/out.json ] || tail -c 300 /tmp/diag/bench.err
done < ${LIST:-/tmp/diag/all.txt}
