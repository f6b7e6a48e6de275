#!/usr/bin/env python3
"""Goodput medians (min-max) and recovery per code, model, transport and factor over this
directory's bench:overload logs (their JSON lines), and the paired differences against the
round's `main` run. Usage: python3 summarize.py"""
import collections, glob, json, re, statistics

CODES = {
    'main': '50784e5 (before)',
    'a': 'A: one cut of relayed datagrams',
    'b': 'B: A + relay delay',
    'c': 'C: B + busy share',
    'g': 'G: A + busy share',
    'h': 'H: A + busy share + stall-free lag',
}
BEFORE = CODES['main']
runs = collections.defaultdict(list)
by_round = collections.defaultdict(dict)
for name in sorted(glob.glob('ab-*.log')):
    m = re.match(r'ab-(\d+)-([a-z0-9]+)-', name)
    if m is None:
        continue
    rnd, code = int(m.group(1)), CODES[m.group(2)]
    for line in open(name):
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        key = (r['model'], r['transport'], r['factor'])
        runs[key + (code,)].append(r)
        by_round[(rnd,) + key][code] = r['goodput']

print('| model | transport | factor | code | runs | goodput median (min–max) | recovery s per run (">7": not within 7 s) |')
print('| --- | --- | ---: | --- | ---: | ---: | --- |')
for key in sorted(runs):
    rs = runs[key]
    g = [r['goodput'] for r in rs]
    rec = ' / '.join(str(r['recovery']) if r.get('recovery') is not None else '>7' for r in rs)
    print(f"| {key[0]} | {key[1].upper()} | {key[2]}x | {key[3]} | {len(rs)} | {statistics.median(g):.2f} ({min(g):.2f}–{max(g):.2f}) | {rec} |")

print()
print('| model | transport | factor | candidate | rounds | goodput candidate − before, per round | median |')
print('| --- | --- | ---: | --- | ---: | --- | ---: |')
pairs = collections.defaultdict(list)
for (rnd, model, transport, factor), codes in sorted(by_round.items()):
    before = codes.get(BEFORE)
    for code, g in codes.items():
        if code != BEFORE and before is not None:
            pairs[(model, transport, factor, code)].append(g - before)
for (model, transport, factor, code), d in sorted(pairs.items()):
    print(f"| {model} | {transport.upper()} | {factor}x | {code} | {len(d)} | {' / '.join(f'{x:+.2f}' for x in d)} | {statistics.median(d):+.2f} |")
