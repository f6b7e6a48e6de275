#!/usr/bin/env python3
"""Interleaved arms of ../bench-overload-2026-12-06c/ab.sh logs, per model, transport and factor:
each round's goodput, the median, the runs at >= 0.9 that recovered within 5 s, and in the
overload's 8 s the requests the core took on per CPU-second of the proxy and what it handled
(taken + shed) per CPU-second (the counters read before the overload and at its end).
Usage: arms.py DIR NAME...   (logs DIR/ab-<round>-<NAME>-*.log)"""
import os, statistics, sys

folder, names = sys.argv[1], sys.argv[2:]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'bench-overload-2026-12-06c'))
from ab_logs import load_rounds  # noqa: E402

runs = load_rounds(folder, names)


def per_cpu_second(run):
    """(requests taken, taken + shed) per CPU-second of the proxy in the overload; None when unread."""
    before, during = run['counters']['before'], run['counters']['during']
    if 'proxy_cpu_ms' not in before or 'proxy_cpu_ms' not in during:
        return None
    cpu = (during['proxy_cpu_ms'] - before['proxy_cpu_ms']) / 1000
    taken = during.get('requests_received', 0) - before.get('requests_received', 0)
    shed = during.get('overload_shed', 0) - before.get('overload_shed', 0)
    return (taken / cpu, (taken + shed) / cpu) if cpu > 0 else None


def met(r):
    return r['goodput'] >= 0.9 and r.get('recovery') is not None and r['recovery'] <= 5


def med(values):
    return f'{statistics.median(values):,.0f}' if values else '–'


print('| model | transport | factor | arm | goodput per round | median | >= 0.9 and recovered <= 5 s | taken / CPU-s, median | handled / CPU-s, median |')
print('| --- | --- | ---: | --- | --- | ---: | ---: | ---: | ---: |')
for key in sorted(runs):
    points = runs[key]
    for name in names:
        mine = [points[k] for k in sorted(points) if k[1] == name]
        if not mine:
            continue
        rates = [x for x in map(per_cpu_second, mine) if x is not None]
        each = ', '.join(format(r['goodput'], '.2f') for r in mine)
        print(f"| {key[0]} | {key[1]} | {key[2]}x | {name} | {each} "
              f"| {statistics.median(r['goodput'] for r in mine):.2f} | {sum(map(met, mine))} of {len(mine)} "
              f"| {med([t for t, _ in rates])} | {med([h for _, h in rates])} |")
