#!/bin/bash
# qstep-el.sh TREE TAG RATE: the event-loop UDP step, with --overload-queue-delay 200 for tags starting with "q".
TREE=$1; TAG=$2; RATE=$3
case $TAG in q*) EXTRA="--overload-queue-delay 200";; *) EXTRA="";; esac
exec bash /work/tcpstep.sh $TREE $TAG $RATE $EXTRA
