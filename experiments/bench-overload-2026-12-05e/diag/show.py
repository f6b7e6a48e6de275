import sys,re
for l in open(sys.argv[1]):
    if not l[0].isdigit(): print(l.strip()); continue
    d=dict(re.findall(r'(\w+)=([0-9.]+)',l))
    t=l.split()[0]
    f=lambda k: float(d.get(k,0))
    print(t, 'thr',d.get('thr'), 'req',int(f('requests_received_total')), 'resp',int(f('responses_received_total')),'retr',int(f('retransmissions_absorbed_total')), 'gc',int(f('gc_pause_milliseconds_total')),'gcmaj',int(f('gc_major_pause_milliseconds_total')), 'stall',int(f('event_loop_stall_milliseconds_total')),'ipc',int(f('ipc_milliseconds_total')),'hoff',int(f('hand_offs_sent_total')),'tx',d.get('transactions'))
