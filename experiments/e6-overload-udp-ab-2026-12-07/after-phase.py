#!/usr/bin/env python3
"""The proxy's counters around a bench:overload point (logs of ../bench-overload-2026-12-06c/ab.sh):
per run, goodput, recovery, the per-second goodput of the 0.8x phase, and five counters during the
overload (8 s) and after it (from the overload's end to the end of SIPp: the 0.8x phase and 6 s
more, about 14 s): requests that reached the core, 503s sent, requests dropped, requests
forwarded, milliseconds limiting. Usage: after-phase.py DIR"""
import glob, json, sys

KEYS = ['requests_received', 'overload_rejected', 'overload_dropped', 'requests_forwarded', 'overload_milliseconds']
print('# log factor goodput recovery per-second | during: ' + ' '.join(KEYS) + ' | after: the same')
for name in sorted(glob.glob(sys.argv[1] + '/*.log')):
    for line in open(name):
        if not line.startswith('{'):
            continue
        run = json.loads(line)
        counters = run['counters']
        during = [counters['during'][k] - counters['before'][k] for k in KEYS]
        after = [counters['after'][k] - counters['during'][k] for k in KEYS]
        print(name.split('/')[-1], run['factor'], round(run['goodput'], 2), run.get('recovery'), run['perSecond'], '|', *during, '|', *after)
