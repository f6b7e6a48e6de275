#!/bin/bash
# qstep.sh TREE TAG RATE: the pool step, with --overload-queue-delay 200 for tags starting with "q".
TREE=$1; TAG=$2; RATE=$3
case $TAG in q*) EXTRA="--overload-queue-delay 200";; *) EXTRA="";; esac
exec bash /work/main/experiments/e6-overload-pool-filter-2026-12-07/step.sh $TREE $TAG $RATE $EXTRA
