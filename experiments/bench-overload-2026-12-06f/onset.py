#!/usr/bin/env python3
"""What an 8x overload's first seconds look like in a controller trace (controller.txt, made by
../bench-overload-2026-12-06d/controller-trace.py): when limiting began, the longest gap between
samples before it, the calls of second 0 (goodput.txt), the lowest admitted rate while the first
second's backlog drained, when the first calm sample came, and when the rate climbed back to
CAP*0.8; then, per second of the overload, the new requests read (offered), admitted, and the
proxy's CPU ms. Usage: onset.py CAP RUN_DIR..."""
import sys
from collections import Counter

cap = float(sys.argv[1])
runs = sys.argv[2:]


def samples(run):
    """The trace's sample lines of a run, split into fields (controller-trace.py's columns)."""
    return [l.split() for l in open(f'{run}/controller.txt') if l[:1] == ' ' and not l.startswith('   t')]


def name(run):
    return run.rstrip('/').split('/')[-1]


rows_of = {run: samples(run) for run in runs}
print('| run | goodput | limiting from s | longest sample before it ms | calls of second 0 | lowest rate | first calm s | rate >= 0.8 cap s |')
print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for run in runs:
    rows = rows_of[run]
    over = [int(x.split('/')[0]) for x in open(f'{run}/goodput.txt').read().split('\n')[1].split()]
    onset = next(float(r[0]) for r in rows if r[8] == 'O')
    gap = max(float(r[12]) for r in rows if 0 <= float(r[0]) <= onset)
    calm = next(float(r[0]) for r in rows if float(r[0]) > onset and r[8] == 'c')
    low = min(float(r[9]) for r in rows if onset < float(r[0]) <= calm and r[9] != '-')
    back = next((float(r[0]) for r in rows if float(r[0]) > calm and r[9] != '-' and float(r[9]) >= 0.8 * cap), None)
    print(f"| {name(run)} | {sum(over) / cap / 8:.2f} | {onset:.2f} | {gap:.0f} | {over[0]} | {low:.0f} | {calm:.2f} | {'-' if back is None else f'{back:.2f}'} |")

print()
print("per second from the overload's start: new requests read / admitted / CPU ms")
for run in runs:
    offered, admitted, cpu = Counter(), Counter(), Counter()
    for r in rows_of[run]:
        if float(r[0]) >= 0:
            s = int(float(r[0]))
            offered[s] += int(r[6]); admitted[s] += int(r[7]); cpu[s] += float(r[11])
    print(f"{name(run):14} " + ' '.join(f'{offered[s]}/{admitted[s]}/{cpu[s]:.0f}' for s in range(10)))
