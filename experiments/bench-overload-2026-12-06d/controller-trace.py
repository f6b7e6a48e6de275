import re,sys
d,tr=sys.argv[1],sys.argv[2]
st=None
for l in open(d+'/samples.txt'):
    m=re.match(r'overload \d+ start ([\d.]+)',l)
    if m: st=float(m.group(1))
print("   t   util lag qdelay reads full offered admitted state rate reduction cpu_ms elapsed")
for l in open(tr):
    f=l.split()
    t=int(f[0])/1000-st
    if -0.3<t<float(sys.argv[3] if len(sys.argv)>3 else 10): print(f"{t:6.2f}",' '.join(f[2:]))
