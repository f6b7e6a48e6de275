"""Per 2x point of a bench:overload log: goodput, messages (requests and responses) the proxy
handled per CPU-second in the overload, and the speed probes' median CPU per piece in its 8 s
(and on CPU 1 in the warm-up). Usage: python3 speed-probe-window.py LOG RAW_SIPP_DIR (run here;
the raw SIPp directory, which holds the points' start times, was not kept: speed-probe-by-point.txt)."""
import json,glob,sys,statistics as st
log,raw=sys.argv[1],sys.argv[2]
def probe(f):
  rows=[]
  for line in open(f):
    p=line.split()
    if len(p)==3: rows.append((int(p[0]),int(p[1]),int(p[2])))
  return rows
c0=probe('speed-probe-cpu0.txt'); c1=probe('speed-probe-cpu1.txt')
starts=[]
for d in sorted(glob.glob(raw+'/event-loop-tcp-on-2x-*')):
  if 'warm' in d: continue
  f=glob.glob(d+'/*_.csv')[0]; t=float(open(f).read().split('\n')[1].split(';')[2].split('\t')[-1])
  starts.append(t*1000)
starts.sort()
points=[json.loads(l) for l in open(log) if l.startswith('{')]
for t,r in zip(starts,points):
  b,d=r['counters']['before'],r['counters']['during']
  msgs=(d['requests_received']-b['requests_received'])+(d['responses_received']-b['responses_received'])
  cpu=d['proxy_cpu_ms']-b['proxy_cpu_ms']
  w0=[m for (s,m,x) in c0 if t<=s<t+8000]; w1=[m for (s,m,x) in c1 if t<=s<t+8000]
  wb=[m for (s,m,x) in c1 if t-60000<=s<t-10000]
  print(f"gp {r['goodput']:.2f} msgs/cpu-s {msgs/cpu*1000:6.0f} | probe cpu1 median µs {st.median(w1) if w1 else None} cpu0 {st.median(w0) if w0 else None} | cpu1 in warm-up {st.median(wb) if wb else None}")
