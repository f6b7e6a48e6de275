#!/usr/bin/env python3
"""Medians (min-max) of goodput and recovery per code, model, transport, --overload and factor over
this directory's bench:overload logs (their JSON lines). Usage: python3 summarize.py"""
import glob, json, statistics, collections

runs = collections.defaultdict(list)
for name in sorted(glob.glob('*.log')):
    if name.startswith('ab-'):
        code = name.split('-')[2]
    elif name.startswith('sustain-udp-warm-up-edit'):
        code = 'main + 3 s warm-up'
    elif name.startswith('ladder-15s'):
        code = 'main, 15 s ladder'
    elif name.startswith('ramp-warm-up'):
        code = 'main + ramp warm-up, 15 s ladder capacity'
    else:
        code = 'main'
    for line in open(name):
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        runs[(code, r['model'], r['transport'], r['overload'], r['factor'])].append(r)

print('| code | model | transport | --overload | factor | runs | goodput median (min–max) | recovery s per run (">7": not within 7 s) |')
print('| --- | --- | --- | --- | ---: | ---: | ---: | --- |')
for key in sorted(runs):
    rs = runs[key]
    g = [r['goodput'] for r in rs]
    rec = ' / '.join('>7' if r.get('recovery') is None else str(r['recovery']) for r in rs)
    print(f"| {key[0]} | {key[1]} | {key[2].upper()} | {key[3]} | {key[4]}x | {len(rs)} | {statistics.median(g):.2f} ({min(g):.2f}–{max(g):.2f}) | {rec} |")
