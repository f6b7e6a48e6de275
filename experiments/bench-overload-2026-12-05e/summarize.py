#!/usr/bin/env python3
"""The A/B round's goodput and recovery per code, model, transport and factor (the JSON lines of
ab-*.log), the difference H - main per cell, and the false overloads of the warm-up (overload
entered and requests shed before the overload phase). Usage: python3 summarize.py"""
import collections, glob, json, re

CODES = {'main': '78a2db9 (main)', 'h': 'H: busy share + stall-free lag'}
cells = collections.defaultdict(dict)
for name in sorted(glob.glob('ab-*.log')):
    m = re.match(r'ab-(\d+)-([a-z0-9]+)-', name)
    if m is None:
        continue
    for line in open(name):
        if line.startswith('{'):
            r = json.loads(line)
            cells[(r['model'], r['transport'], r['factor'])][m.group(2)] = r

def recovery(r):
    return '>7' if r.get('recovery') is None else str(r['recovery'])

def warm_up(r):
    before = r['counters']['before']
    return f"{before.get('overload_entered', 0)} / {before.get('overload_shed', 0)}"

print('| model | transport | factor | goodput main | goodput H | H − main | recovery s main / H | warm-up: overloads entered / requests shed, main · H |')
print('| --- | --- | ---: | ---: | ---: | ---: | --- | --- |')
for (model, transport, factor), codes in sorted(cells.items()):
    a, b = codes.get('main'), codes.get('h')
    if a is None or b is None:
        continue
    print(f"| {model} | {transport.upper()} | {factor}x | {a['goodput']:.2f} | {b['goodput']:.2f} | {b['goodput'] - a['goodput']:+.2f} | {recovery(a)} / {recovery(b)} | {warm_up(a)} · {warm_up(b)} |")
