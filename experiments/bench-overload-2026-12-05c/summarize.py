#!/usr/bin/env python3
"""Goodput medians (min-max) and recovery per code and factor over this directory's
bench:overload logs (their JSON lines), and the paired differences of rounds that ran two codes
one after the other. Usage: python3 summarize.py"""
import collections, glob, json, re, statistics

CODES = {
    'main': 'c29cc6e (before)',
    'ref': 'c29cc6e (before)',
    'batch': '5ad85cd (batched relay)',
    'v503': 'every shed UDP request 503',
    'vdec': 'decrease 0.9 from the rate',
    'cpuq': 'process CPU over the quota',
}
runs = collections.defaultdict(list)
by_round = collections.defaultdict(dict)
for name in sorted(glob.glob('ab-*.log')):
    m = re.match(r'ab-(\d+)-([a-z0-9]+)-udp-thread-pool\.log$', name)
    if m is None:
        continue
    rnd, code = int(m.group(1)), CODES[m.group(2)]
    for line in open(name):
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        runs[(code, r['factor'])].append(r)
        by_round[(rnd, r['factor'])][code] = r['goodput']

print('| code | factor | runs | goodput median (min–max) | recovery s per run (">7": not within 7 s) |')
print('| --- | ---: | ---: | ---: | --- |')
for key in sorted(runs):
    rs = runs[key]
    g = [r['goodput'] for r in rs]
    rec = ' / '.join('>7' if r.get('recovery') is None else str(r['recovery']) for r in rs)
    print(f"| {key[0]} | {key[1]}x | {len(rs)} | {statistics.median(g):.2f} ({min(g):.2f}–{max(g):.2f}) | {rec} |")

print()
print('| candidate | factor | rounds | goodput candidate − before, per round | median |')
print('| --- | ---: | ---: | --- | ---: |')
pairs = collections.defaultdict(list)
for (rnd, factor), codes in sorted(by_round.items()):
    before = codes.get('c29cc6e (before)')
    for code, g in codes.items():
        if code != 'c29cc6e (before)' and before is not None:
            pairs[(code, factor)].append(g - before)
for (code, factor), d in sorted(pairs.items()):
    print(f"| {code} | {factor}x | {len(d)} | {' / '.join(f'{x:+.2f}' for x in d)} | {statistics.median(d):+.2f} |")
