#!/usr/bin/env python3
"""Prints detector traces side by side (one line per 2 samples of the first file), as read in
README.md: python3 trace-table.py traces/thread-pool-udp-2x-parent.log traces/thread-pool-udp-2x-thread1.log ...
Each trace line (detector-trace.diff): ms since epoch, utilization u, lag ms, elapsed ms, ov (an
overloaded decision), calm, off/adm (new requests seen/admitted while limiting in the sample),
lim (limiting after it), rate (admitted new requests per second), red (reduction), cpu (the
process's CPU, all threads). cpu% = the process's CPU over the wall time since the previous line
printed."""
import json, sys

def load(path):
    rows = []
    for line in open(path):
        parts = line.split()
        kv = dict(x.split('=', 1) for x in parts[1:])
        cpu = json.loads(kv['cpu'])
        kv['c'] = cpu['user'] + cpu['system']
        kv['ts'] = int(parts[0])
        rows.append(kv)
    return rows

traces = [load(p) for p in sys.argv[1:]]
first = traces[0]
t0 = first[0]['ts']
prev = None
for i, r in enumerate(first):
    if i % 2:
        continue
    cpu = '' if prev is None else round((r['c'] - prev['c']) / (r['ts'] - prev['ts']) / 10)
    prev = r
    out = f"{(r['ts'] - t0) / 1000:6.1f} cpu%={cpu}"
    for n, rows in enumerate(traces):
        near = min(rows, key=lambda x: abs(x['ts'] - r['ts']))
        out += f" | {n} u={near['u']} lag={near['lag']} ov={near['ov']} lim={near['lim']} rate={near['rate']} off={near['off']} adm={near['adm']}"
    print(out)
