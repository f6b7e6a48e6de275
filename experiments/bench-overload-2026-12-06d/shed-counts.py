#!/usr/bin/env python3
"""Per point of bench-overload.mjs logs: goodput, the 0.8x phase per second, and the overload
counters' growth from before the overload to its end (the bench's `before` and `during` readings:
new requests shed, 503s, drops, overloads entered, queue-delayed samples, and the receive buffer's
resizes of 06e's queue-bound variant where its logs have them).
Usage: shed-counts.py LOG..."""
import json
import sys

KEYS = ('overload_entered', 'overload_shed', 'overload_rejected', 'overload_dropped', 'overload_queue_delayed', 'overload_receive_buffer_resized')
for path in sys.argv[1:]:
    print(f'== {path}')
    for line in open(path):
        line = line.strip()
        if not line.startswith('{'):
            continue
        try:
            point = json.loads(line)
        except ValueError:
            continue
        if 'factor' not in point:
            continue
        counters = point.get('counters', {})
        before, during = counters.get('before', {}), counters.get('during', {})
        counts = ' '.join(f'{k.removeprefix("overload_")} {during.get(k, 0) - before.get(k, 0)}' for k in KEYS if k in before or k in during)
        recovery = point.get('perSecond', [])
        print(f"{point['factor']}x goodput {point.get('goodput', 0):.2f}, recovery {point.get('recovery')} s; during: {counts}; 0.8x phase per second: {recovery}")
