# Self size of a V8 heap snapshot (heap-snapshot.sh) by constructor (objects, closures) or node
# type (strings, arrays, code), largest first. usage: python3 heap-by-constructor.py FILE.heapsnapshot
import json,sys,collections
s=json.load(open(sys.argv[1]))
m=s['snapshot']['meta']; nf=m['node_fields']; N=len(nf); types=m['node_types'][0]; strs=s['strings']
nodes=s['nodes']; ti=nf.index('type'); ni=nf.index('name'); si=nf.index('self_size')
agg=collections.Counter(); cnt=collections.Counter(); total=0
for i in range(0,len(nodes),N):
  t=types[nodes[i+ti]]; name=strs[nodes[i+ni]] if t in ('object','closure','native') else '('+t+')'
  agg[name]+=nodes[i+si]; cnt[name]+=1; total+=nodes[i+si]
print('total self MB %.1f'%(total/1e6))
for k,v in agg.most_common(30): print('%8.2f MB %7d  %s'%(v/1e6,cnt[k],k[:80]))
