import fs from 'node:fs';
const [port, cg] = process.argv.slice(2);
const names = ['requests_received_total', 'responses_received_total', 'hand_offs_sent_total', 'retransmissions_absorbed_total', 'requests_retransmitted_total', 'internal_errors_total', 'transactions'];
let prev = {};
let prevStat = {};
const t0 = Date.now();
setInterval(async () => {
  let text = '';
  try { text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })).text(); } catch { text = ''; }
  const now = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = line.match(/^switchboard_([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/);
    if (!m) continue;
    const key = m[1];
    now[key] = (now[key] ?? 0) + Number(m[3]);
  }
  const stat = Object.fromEntries(fs.readFileSync(`${cg}/cpu.stat`, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([k, v]) => [k, Number(v)]));

  const diffs = [];
  for (const k of Object.keys(now).sort()) { const d = now[k] - (prev[k] ?? 0); if (d !== 0 && !k.includes('bucket') && !k.includes('_sum') && !k.includes('_count')) diffs.push(`${k}=${k.endsWith('_total') ? d : now[k]}`); }
  console.log(`${((Date.now() - t0) / 1000).toFixed(1)} thr=${stat.nr_throttled - (prevStat.nr_throttled ?? 0)} ${diffs.join(' ')}`);
  prev = now; prevStat = stat;
}, 1000);
