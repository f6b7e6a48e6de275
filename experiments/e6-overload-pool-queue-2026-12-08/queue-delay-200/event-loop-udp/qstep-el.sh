#!/bin/bash
# qstep-el.sh TREE TAG RATE: the event-loop UDP step, with --overload-queue-delay 200 for tags starting with "q".
TREE=$1; TAG=$2; RATE=$3
case $TAG in q*) EXTRA="--overload-queue-delay 200";; *) EXTRA="";; esac
exec bash /work/main/experiments/e6-overload-udp-ab-2026-12-07/step.sh $TREE $TAG $RATE $EXTRA
