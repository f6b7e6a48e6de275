#!/usr/bin/env python3
"""A/B rounds of ab-flags.sh: goodput and recovery per code, model and factor (the JSON lines of
ab-<round>-<code>-udp-<model>.log), B - A per cell, and the warm-up's overloads (entered / requests
shed before the overload phase). Usage: python3 summarize.py CODE_A CODE_B"""
import collections, glob, json, re, sys

a_code, b_code = sys.argv[1], sys.argv[2]
cells = collections.defaultdict(lambda: collections.defaultdict(list))
for name in sorted(glob.glob('ab-*.log')):
    m = re.match(r'ab-(\d+)-([a-z0-9]+)-', name)
    if m is None:
        continue
    for line in open(name):
        if line.startswith('{'):
            r = json.loads(line)
            cells[(r['model'], r['transport'], r['factor'])][m.group(2)].append(r)

def recovery(r):
    return '>7' if r.get('recovery') is None else str(r['recovery'])

def warm_up(r):
    before = r['counters']['before']
    return f"{before.get('overload_entered', 0)}/{before.get('overload_shed', 0)}"

print(f'| model | transport | factor | goodput {a_code} | goodput {b_code} | {b_code} − {a_code} | recovery s {a_code} / {b_code} | warm-up entered/shed {a_code} · {b_code} |')
print('| --- | --- | ---: | ---: | ---: | ---: | --- | --- |')
for (model, transport, factor), codes in sorted(cells.items()):
    for a, b in zip(codes.get(a_code, []), codes.get(b_code, [])):
        print(f"| {model} | {transport.upper()} | {factor}x | {a['goodput']:.2f} | {b['goodput']:.2f} | {b['goodput'] - a['goodput']:+.2f} | {recovery(a)} / {recovery(b)} | {warm_up(a)} · {warm_up(b)} |")
