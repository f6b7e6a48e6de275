// What building one 503 costs (overloadResponse), hot, no quota: SIPp's INVITE (06d's
// sipp-invite.mjs), 200,000 503s a round, 5 rounds; prints µs of CPU per 503 per round, and the
// bytes of one 503 (the same in every tree, or the trees differ in what they send).
// usage: node overload-response-cost.mjs TREE...   (built checkouts)
import { createHash } from 'node:crypto';
import { invite } from '../bench-overload-2026-12-06d/sipp-invite.mjs';

const inputs = Array.from({ length: 1000 }, (_, n) => Buffer.from(invite(n), 'latin1'));
for (const root of process.argv.slice(2)) {
  const { overloadResponse } = await import(`${root}/packages/core/dist/overload/overload-response.js`);
  const options = { toTag: 'sbol-0123abcd1', retryAfterSeconds: 2, ocParams: () => [] };
  const digest = createHash('sha256');
  for (const input of inputs) digest.update(overloadResponse(input, options));
  const perRound = [];
  for (let round = 0; round < 5; round++) {
    const before = process.cpuUsage();
    let bytes = 0;
    for (let n = 0; n < 200_000; n++) bytes += overloadResponse(inputs[n % 1000], options).length;
    const used = process.cpuUsage(before);
    perRound.push(((used.user + used.system) / 200_000).toFixed(3));
    if (bytes === 0) throw new Error('no 503 built');
  }
  console.log(root, 'µs per 503:', perRound.join(' '), 'digest', digest.digest('hex').slice(0, 16));
}
