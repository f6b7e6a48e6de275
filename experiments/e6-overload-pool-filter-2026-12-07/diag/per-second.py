#!/usr/bin/env python3
"""per-second.py METRICS...: scrape.sh's samples as one line a second: per worker, the share of
REGISTERs the kernel keeps, the admitted rate, and the requests received, 503s and drops since the
last sample."""
import collections, re, sys
for f in sys.argv[1:]:
    rows = collections.OrderedDict()
    for l in open(f):
        m = re.match(r'(\S+) switchboard_(\w+)\{worker="(\d+)"[^}]*\} (\S+)', l)
        if m: rows.setdefault(m[1], {})[(m[2], m[3])] = float(m[4])
    print(f)
    prev = {}
    for t, d in rows.items():
        cells = []
        for w in '01':
            delta = lambda name: (d.get((name, w)) or 0) - (prev.get((name, w)) or 0)
            p = d.get(('overload_kernel_register_pass', w)); a = d.get(('overload_admitted_rate', w))
            cells.append(f"w{w} pass={'-' if p is None else round(p, 3)} adm={'-' if a is None else round(a)} recv+{delta('requests_received_total'):.0f} 503+{delta('overload_rejected_total'):.0f} drop+{delta('overload_dropped_total'):.0f}")
        print(t[-6:], ' | '.join(cells))
        prev = d
