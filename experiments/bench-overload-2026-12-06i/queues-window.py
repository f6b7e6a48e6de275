"""The loopback TCP queues sampled by ss-sample.sh around one overload point: for each sample from
1 s before START (epoch seconds: the first row of the point's SIPp caller statistics) to 17 s
after, every socket with more than 2,000 bytes in its receive or send queue, as
`local port>peer port:receive KB/send KB`.
Usage: python3 queues-window.py SS_FILE START
"""
import sys

path, start = sys.argv[1], float(sys.argv[2]) * 1000
rows, now, sockets = [], None, []
for line in open(path):
    fields = line.split()
    if fields[0] == 'T':
        if now is not None and start - 1000 <= now <= start + 17000:
            rows.append((now, sockets))
        now, sockets = int(fields[1]), []
        continue
    received, sent = int(fields[0]), int(fields[1])
    if received > 2000 or sent > 2000:
        sockets.append(f"{fields[2].split(':')[1]}>{fields[3].split(':')[1]}:{received // 1000}k/{sent // 1000}k")
for now, sockets in rows:
    print(f'{(now - start) / 1000:5.1f}', ' '.join(sockets))
