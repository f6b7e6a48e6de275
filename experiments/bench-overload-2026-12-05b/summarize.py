#!/usr/bin/env python3
"""Medians (min-max) of goodput and recovery per code, model, transport, --overload and factor over
this directory's bench:overload logs (their JSON lines), and the overload phase's refusals.
Usage: python3 summarize.py"""
import glob, json, statistics, collections

CODES = {
    'main': '26930da (before)',
    'udp503': 'udp503',
    'memory16': 'memory 16-32 s',
    'memory16-screen': 'memory 16-32 s + after',
    'after': '57a0356 (after)',
    'retrans503': 'retrans503',
}
runs = collections.defaultdict(list)
for name in sorted(glob.glob('*.log')):
    if name.startswith('ab-'):
        code = CODES[name[len('ab-1-'):-len('-udp.log')]]
    elif name.startswith('full-run') and not name.endswith('ladders.log'):
        code = '57a0356 (after)'
    else:
        continue
    for line in open(name):
        if not line.startswith('{'):
            continue
        r = json.loads(line)
        runs[(code, r['model'], r['transport'], r['cap'], r['overload'], r['factor'])].append(r)


def during(r, key):
    c = r['counters']
    return c['during'].get(key, 0) - c.get('before', {}).get(key, 0) if key in c['during'] else None


print('| code | model | transport | capacity (calls/s) | --overload | factor | runs | goodput median (min–max) | recovery s per run (">7": not within 7 s) | 503s / drops in the overload phase, per run |')
print('| --- | --- | --- | ---: | --- | ---: | ---: | ---: | --- | --- |')
for key in sorted(runs):
    rs = runs[key]
    g = [r['goodput'] for r in rs]
    rec = ' / '.join('>7' if r.get('recovery') is None else str(r['recovery']) for r in rs)
    refusals = ' · '.join(f"{during(r, 'overload_rejected')} / {during(r, 'overload_dropped')}" if during(r, 'overload_rejected') is not None else '–' for r in rs)
    print(f"| {key[0]} | {key[1]} | {key[2].upper()} | {key[3]} | {key[4]} | {key[5]}x | {len(rs)} | {statistics.median(g):.2f} ({min(g):.2f}–{max(g):.2f}) | {rec} | {refusals} |")
