"""Where a --cpu-prof profile's samples fall between FROM and TO seconds after its start.

Under a CPU quota V8's sampler stops with the process, so a sample's time delta holds the time
it was throttled: this counts samples, not time. Prints the self and inclusive counts of the
busiest functions, and which callees the shed path, the framer and the 503's builder spend theirs in.
Usage: python3 profile-window.py PROFILE FROM TO; with PROFILE alone, the samples of each
second (all, idle, in the shed path), to find the overload's window.
"""
import collections
import json
import os
import sys

profile = json.load(open(sys.argv[1]))
nodes = {node['id']: node for node in profile['nodes']}
parent = {child: node['id'] for node in profile['nodes'] for child in node.get('children', [])}


def ancestors(node_id):
    names = set()
    while node_id is not None:
        names.add(nodes[node_id]['callFrame']['functionName'])
        node_id = parent.get(node_id)
    return names


if len(sys.argv) < 4:
    seconds = collections.defaultdict(collections.Counter)
    elapsed = 0
    for sample, delta in zip(profile['samples'], profile['timeDeltas']):
        elapsed += delta
        second = seconds[int(elapsed / 1e6)]
        second['all'] += 1
        if nodes[sample]['callFrame']['functionName'] == '(idle)':
            second['idle'] += 1
        if 'shedOnArrival' in ancestors(sample):
            second['shed'] += 1
    for second, counts in sorted(seconds.items()):
        print(second, counts['all'], 'idle', counts['idle'], 'shed', counts['shed'])
    sys.exit(0)
start, end = float(sys.argv[2]) * 1e6, float(sys.argv[3]) * 1e6


def name(node_id):
    frame = nodes[node_id]['callFrame']
    return f"{frame['functionName'] or '(anon)'} {os.path.basename(frame['url'])}:{frame['lineNumber']}"


own, inclusive, under = collections.Counter(), collections.Counter(), collections.defaultdict(collections.Counter)
elapsed, count = 0, 0
for sample, delta in zip(profile['samples'], profile['timeDeltas']):
    elapsed += delta
    if not start <= elapsed < end:
        continue
    count += 1
    own[name(sample)] += 1
    path, node = [], sample
    while node is not None:
        path.append(node)
        node = parent.get(node)
    path.reverse()
    for label in {name(node) for node in path}:
        inclusive[label] += 1
    for i, node in enumerate(path):
        if nodes[node]['callFrame']['functionName'] in ('shedOnArrival', 'push', 'overloadResponse'):
            under[name(node)][name(path[i + 1]) if i + 1 < len(path) else '(self)'] += 1
print(f'samples {count}')
print('self:')
for label, n in own.most_common(25):
    print(f'{n:6} {label}')
print('inclusive:')
for label, n in inclusive.most_common(60):
    print(f'{n:6} {label}')
for label, callees in under.items():
    print(f'{label} ({sum(callees.values())}):', ', '.join(f'{callee} {n}' for callee, n in callees.most_common(8)))
