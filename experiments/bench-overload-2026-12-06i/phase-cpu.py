"""Per bench:overload point of the logs given: goodput, recovery, and in the overload's 8 s (the
counters read before it and at its end) and after it (to the end of the 0.8x phase) the proxy's
CPU (ms; in brackets its main threads' where recorded), its quota's periods throttled of all, the requests its core took on (INVITE, ACK, BYE),
the new requests shed (of them answered 503), and the SIPp processes' CPU in the overload.
Usage: python3 phase-cpu.py LOG...
"""
import json
import sys

print('| log | model | transport | factor | goodput | recovery s | overload: proxy CPU ms | throttled / periods | requests taken | shed (503) | SIPp CPU ms | after: proxy CPU ms | throttled / periods |')
print('| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for log in sys.argv[1:]:
    for line in open(log):
        if not line.startswith('{'):
            continue
        point = json.loads(line)
        before, during, after = (point['counters'][k] for k in ('before', 'during', 'after'))
        if 'proxy_cpu_ms' not in during or 'proxy_cpu_ms' not in before:
            continue
        d = {k: during[k] - before.get(k, 0) for k in during if k in before}
        a = {k: after[k] - during[k] for k in after if k in during}
        recovery = point.get('recovery')
        sipp = d.get('sipp_cpu_ms', '')
        main = f" ({d['proxy_main_thread_cpu_ms']:,})" if 'proxy_main_thread_cpu_ms' in d else ''
        print(f"| {log} | {point['model']} | {point['transport'].upper()} | {point['factor']}x | {point['goodput']:.2f} | {'>7' if recovery is None else recovery} "
              f"| {d['proxy_cpu_ms']:,}{main} | {d['cfs_throttled']} / {d['cfs_periods']} | {d.get('requests_received', ''):,} | {d.get('overload_shed', ''):,} ({d.get('overload_rejected', ''):,}) | {sipp} "
              f"| {a['proxy_cpu_ms']:,} | {a['cfs_throttled']} / {a['cfs_periods']} |")
