#!/usr/bin/env python3
"""step-line.py BENCH_JSON PROXY_LOG: the one line a step script prints: goodput /s over the window,
success, failures, proxy CPU %, and the proxy's run counters from its stop line, summed over its
workers (one in the event-loop): requests received, 503s, dropped, ms limiting, overloads entered,
kernel filters set, GC and loop-stall ms."""
import json, sys
r = json.load(open(sys.argv[1]))
c = r['calls']; w = r['windowSeconds']
stopped = [json.loads(l) for l in open(sys.argv[2]) if '"msg":"stopped"' in l]
k = {}
if stopped:
    workers = [x for x in stopped[-1]['workers'] if x.get('core')]
    total = lambda key: sum(x['core'].get(key) or 0 for x in workers)
    model = lambda key: round(sum(x.get('model', {}).get(key, 0) for x in workers))
    k = {'recv': total('requestsReceived'), 'rej': total('overloadRejected'), 'drop': total('overloadDropped'), 'olms': total('overloadMilliseconds'), 'entered': total('overloadEntered'), 'kfilters': total('overloadKernelFilters'), 'gcms': model('gcPauseMilliseconds'), 'stallms': model('eventLoopStallMilliseconds'), 'workers': len(workers)}
print(sys.argv[1].split('/')[-1], 'goodput', round(c['completed'] / w, 1), 'success', round(c['successRatio'], 3), 'failures', r.get('failures'), 'cpu', r.get('proxy', {}).get('cpuPercentTotal'), k)
