#!/bin/bash
while pgrep -f "ab.s[h] 31 31" >/dev/null; do sleep 5; done
./ab.sh 32 32 event-loop,thread-pool,process-pool tcp event-loop:tcp=889,thread-pool:tcp=455,process-pool:tcp=711 2,4,8 main=/work/s43-main h=/work/s43-h
