#!/usr/bin/env python3
"""Prints a controller trace (controller-trace.patch's lines, SB_OVERLOAD_TRACE) against the
overload's start as samples.txt of the diagnostic run records it, from -0.3 s to END (10 s by
default), one group per worker process where there are several.
Usage: controller-trace.py RUN_DIR TRACE_FILE [END]"""
import re
import sys

run, trace = sys.argv[1], sys.argv[2]
end = float(sys.argv[3]) if len(sys.argv) > 3 else 10
start = None
for line in open(f'{run}/samples.txt'):
    m = re.match(r'overload \d+ start ([\d.]+)', line)
    if m:
        start = float(m.group(1))
workers = {}
for line in open(trace):
    fields = line.split()
    t = int(fields[0]) / 1000 - start
    if -0.3 < t < end:
        workers.setdefault(fields[1], []).append(f'{t:6.2f} ' + ' '.join(fields[2:]))
print('   t   util lag qdelay reads full offered admitted state rate reduction cpu_ms elapsed'
      + ('  (state n: no probe read, busy run kept)' if len(workers) > 1 else ''))
for pid, lines in workers.items():
    if len(workers) > 1:
        print(f'== worker pid {pid}')
    print('\n'.join(lines))
