#!/usr/bin/env python3
"""Per point of bench:overload logs: each run's goodput and recovery, the median and the range
(min-max: with 3 runs a 75% interval for the median by a sign test; with 2 a range only), and the
verdict against issue 17's targets (goodput >= 0.9, recovery <= 5 s): met when every run met
both, missed when no run reached 0.9, mixed otherwise. Usage: summarize.py LOG..."""
import json, sys, statistics
from collections import defaultdict

runs = defaultdict(list)
caps = {}
for name in sys.argv[1:]:
    for line in open(name):
        if line.startswith('capacity '):
            words = line.split()
            caps[(words[1], words[2].rstrip(':'))] = line.strip()
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        runs[(r['model'], r['transport'], r['factor'])].append(r)

print('| model | transport | capacity | factor | runs | goodput each | median [range] | recovery s each | verdict |')
print('| --- | --- | ---: | ---: | ---: | --- | --- | --- | --- |')
for (model, transport, factor), rs in sorted(runs.items()):
    g = [r['goodput'] for r in rs if 'goodput' in r]
    rec = [r.get('recovery') for r in rs]
    recs = ['>7' if x is None else str(x) for x in rec]
    med = statistics.median(g) if g else float('nan')
    lo, hi = (min(g), max(g)) if g else (float('nan'),) * 2
    good_all = g and min(g) >= 0.9 and all(x is not None and x <= 5 for x in rec)
    bad_all = g and max(g) < 0.9
    verdict = 'met in every run' if good_all else ('missed in every run' if bad_all else 'mixed')
    print(f"| {model} | {transport} | {rs[0]['cap']} | {factor}x | {len(g)} | {' / '.join(f'{x:.2f}' for x in g)} | {med:.2f} [{lo:.2f}–{hi:.2f}] | {' / '.join(recs)} | {verdict} |")
