#!/usr/bin/env python3
"""Busy samples in the warm-up ramp (0.1x to 0.6x capacity, seconds 5 to 15.5 after a detector's
first sample) of detector traces: how many samples read utilization >= 0.9, how many runs of
three in a row (an overload), and how many samples were limiting.
Usage: python3 ramp-flips.py TRACE...
(the event-loop-utilization traces of 2026-12-05c: ../bench-overload-2026-12-05c/traces/thread-pool-udp-2x-*.log;
the busy-share traces of this run: traces/thread-pool-udp-*.log)"""
import sys

def load(path):
    rows = []
    for line in open(path):
        parts = line.split()
        row = {'t': int(parts[0])}
        for kv in parts[1:]:
            if '=' in kv:
                k, v = kv.split('=', 1)
                row[k] = v
        rows.append(row)
    return rows

print('| trace | ramp samples | utilization >= 0.9 | runs of 3 | limiting samples |')
print('| --- | ---: | ---: | ---: | ---: |')
for path in sys.argv[1:]:
    rows = load(path)
    t0 = rows[0]['t']
    ramp = [r for r in rows if 5000 <= r['t'] - t0 <= 15500]
    busy = sum(1 for r in ramp if float(r['u']) >= 0.9)
    runs = run = 0
    for r in ramp:
        run = run + 1 if float(r['u']) >= 0.9 else 0
        if run == 3:
            runs += 1
    limiting = sum(1 for r in ramp if r['lim'] == '1')
    print(f"| {path} | {len(ramp)} | {busy} ({busy / len(ramp):.0%}) | {runs} | {limiting} |")
