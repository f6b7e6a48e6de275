#!/usr/bin/env python3
"""Per second of a bench:overload point (a directory of SIPp files): calls by the second their
INVITE went out, as good (200 within 4 s) / late, and the median response time in ms.
The overload phase is seconds 0-7, the 0.8x phase from 8. Usage: per-second.py DIR..."""
import sys, glob, collections
for d in sys.argv[1:]:
    files = glob.glob(d + '/*_rtt.csv')
    if not files:
        continue
    good, late, rtts = collections.Counter(), collections.Counter(), collections.defaultdict(list)
    for i, line in enumerate(open(files[0])):
        if i == 0:
            continue
        t, r, _ = line.strip().split(';')
        t, r = float(t), float(r)
        s = int((t - r) / 1000)
        (good if r < 4000 else late)[s] += 1
        rtts[s].append(r)
    seconds = sorted(set(good) | set(late))
    print(d.rstrip('/').split('/')[-1], ' '.join(f"{k}:{good[k]}/{late[k]}/{int(sorted(rtts[k])[len(rtts[k]) // 2])}" for k in seconds[:17]))
