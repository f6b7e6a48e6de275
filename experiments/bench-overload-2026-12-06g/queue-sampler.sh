#!/bin/bash
# Every 100 ms: Recv-Q and Send-Q (bytes, `ss -tn`) of every TCP connection to or from PORT on
# 127.0.0.1 (the proxy's SIP listener of 06b/diag/run.sh: 45070), one line per sample:
# "epoch local>peer:recvq/sendq ...". Where a trunk's backlog waits: in the proxy's receive queue
# (the proxy's side, Recv-Q), in the sender's send queue (SIPp's side, Send-Q), or in neither
# (then in SIPp itself). Runs until killed. usage: queue-sampler.sh [PORT] > FILE &
port=${1:-45070}
while true; do
  echo "$(date +%s.%N | cut -c1-14) $(ss -tnH state established "( sport = :$port or dport = :$port )" | awk '{printf "%s>%s:%s/%s ", $3, $4, $1, $2}')"
  sleep 0.1
done
