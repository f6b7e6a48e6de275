#!/usr/bin/env python3
"""summarize.py LOG [ARM ...]: per rate, each arm's goodput (REGISTERs/s answered 2xx within 32 s
over the 10 s window) in every round, the median, and how many rounds each arm beat the first
arm named (pairs of the same round). Also the medians of what the proxy did over its run: requests
that reached its core, 503s and datagrams dropped (per second of the run: 50 s of load)."""
import ast, re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.match(r'r(\d+) (\S+) (\d+) \S+ goodput ([\d.]+) success ([\d.]+) failures (\{.*?\}) cpu ([\d.]+) (\{.*\})', line)
    if not m: continue
    rnd, arm, rate = int(m[1]), m[2], int(m[3])
    rows.setdefault(rate, {}).setdefault(arm, {})[rnd] = (float(m[4]), ast.literal_eval(m[8]))
arms = sys.argv[2:] or sorted({arm for by in rows.values() for arm in by})
for rate in sorted(rows):
    print(f'rate {rate}/s')
    first = rows[rate].get(arms[0], {})
    for arm in arms:
        runs = rows[rate].get(arm, {})
        if not runs: continue
        goodputs = [runs[r][0] for r in sorted(runs)]
        wins = sum(1 for r in runs if r in first and runs[r][0] > first[r][0])
        k = lambda key: statistics.median(runs[r][1].get(key) or 0 for r in runs)
        print(f'  {arm:6} goodput {" / ".join(f"{g:.0f}" for g in goodputs):24} median {statistics.median(goodputs):6.0f}' + ('' if arm == arms[0] else f'  above {arms[0]} in {wins} of {len(runs)}') + f'  | run medians: core {k("recv"):.0f}, 503 {k("rej"):.0f}, dropped {k("drop"):.0f}, GC ms {k("gcms"):.0f}')
