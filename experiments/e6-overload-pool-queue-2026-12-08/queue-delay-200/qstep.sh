#!/bin/bash
# qstep.sh TREE TAG RATE: one E6-overload step with --overload-queue-delay 200 where TAG starts
# with "q" (arm q), the default (then 50 ms) otherwise. QSTEP picks the step script: the pool's
# (../../e6-overload-pool-filter-2026-12-07/step.sh) or the event-loop's
# (../../e6-overload-udp-ab-2026-12-07/step.sh, the default), which STEP_MODEL, STEP_TRANSPORT and
# STEP_CLIENTS turn to another model or transport. As run (rounds.sh 2 "R1 R2" a=TREE q=TREE):
#   process-pool-udp: QSTEP=pool, rates 146 291
#   event-loop-udp:   rates 800 1600
#   thread-pool-udp:  STEP_MODEL="--model thread-pool --state sab --workers 2", rates 600 1200
#   event-loop-tcp:   STEP_TRANSPORT=tcp STEP_CLIENTS=3000, rates 1000 2000
# (The runs used copies of these scripts with the same commands; the copies were folded into this one.)
HERE=$(cd "$(dirname "$0")" && pwd)
TREE=$1; TAG=$2; RATE=$3
case $TAG in q*) EXTRA="--overload-queue-delay 200";; *) EXTRA="";; esac
case ${QSTEP:-event-loop} in
  pool) exec bash $HERE/../../e6-overload-pool-filter-2026-12-07/step.sh $TREE $TAG $RATE $EXTRA;;
  *) exec bash $HERE/../../e6-overload-udp-ab-2026-12-07/step.sh $TREE $TAG $RATE $EXTRA;;
esac
