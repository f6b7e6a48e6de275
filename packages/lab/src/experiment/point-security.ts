/**
 * TLS and digest authentication for one experiment point, from its transport and its `extra`
 * matrix keys: certificates made for the point (a test CA, a certificate for 127.0.0.1–127.0.0.50
 * that the proxy and the listening callees both use, never kept), a users file with every phone
 * of the point, and the matching `serve` flags and generator options.
 *
 * Extra keys with a meaning here:
 * - `auth`: off | register | invite | all (`serve --auth`; the phones answer with a password)
 * - `tls-resumption`: on | off (server and proxy-as-client; the phones offer their last session)
 * - `tls-verify-client`: on | off (mutual authentication; the phones present a certificate)
 * - `tls-key`: ec | rsa (P-256 or RSA 2048 certificates)
 * - `tls-ciphers`, `tls-min-version`, `tls-max-version`: passed to `serve` as they are.
 * Any other extra key is passed to `serve` as `--KEY VALUE`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from '@switchboard/bench';
import { formatUsersFile, userCredentials } from '@switchboard/core';
import { createTestCertificates } from '@switchboard/testkit/certificates';
import type { ExperimentPoint } from './experiment-record.js';
import { EXPERIMENT_DOMAIN } from './proxy-under-test.js';

/** The password of every simulated phone when a point authenticates. */
export const PHONE_PASSWORD = 'bench-password';
/** Loopback addresses the generator spreads phones over, all named in the point's certificate. */
export const LOOPBACK_HOSTS = 50;

export interface PointSecurity {
  readonly serve: Readonly<Record<string, string | boolean>>;
  readonly bench: Pick<BenchOptions, 'tls' | 'authPassword' | 'localHosts'>;
  remove(): Promise<void>;
}

const BOOLEAN_FLAGS = new Set(['tls-verify-client']);
/** Extra keys for the generator, not `serve` flags: the TLS key type, what phones do with Retry-After. */
const GENERATOR_ONLY = new Set(['tls-key', 'retry-after']);
/** Extra keys for the launcher, not `serve` flags: `node-flags` (proxy-node-flags.ts). */
const LAUNCHER_ONLY = new Set(['node-flags']);

export async function preparePointSecurity(point: ExperimentPoint, pairs: number): Promise<PointSecurity> {
  const extra = point.extra ?? {};
  const serve: Record<string, string | boolean> = {};
  const bench: { -readonly [K in keyof PointSecurity['bench']]: PointSecurity['bench'][K] } = {};
  const removals: Array<() => Promise<void>> = [];
  const remove = async (): Promise<void> => {
    for (const removal of removals) await removal();
  };
  try {
    for (const [key, value] of Object.entries(extra)) {
      if (key === 'auth' || GENERATOR_ONLY.has(key) || LAUNCHER_ONLY.has(key)) continue;
      if (key.startsWith('tls-') && point.transport !== 'tls') continue;
      serve[key] = BOOLEAN_FLAGS.has(key) ? value === 'on' : value;
    }
    if (point.transport === 'tls') {
      const certificates = await createTestCertificates({ keyType: extra['tls-key'] === 'rsa' ? 'rsa' : 'ec', loopbackHosts: LOOPBACK_HOSTS });
      removals.push(() => certificates.remove());
      Object.assign(serve, { 'tls-cert': certificates.server.certFile, 'tls-key': certificates.server.keyFile, 'tls-ca': certificates.ca.certFile });
      bench.tls = {
        ca: certificates.ca.cert,
        cert: certificates.server.cert,
        key: certificates.server.key,
        resume: (extra['tls-resumption'] ?? 'on') === 'on',
        clientCertificate: extra['tls-verify-client'] === 'on',
      };
      bench.localHosts = LOOPBACK_HOSTS;
    }
    const auth = extra.auth ?? 'off';
    if (auth !== 'off') {
      const dir = await mkdtemp(join(tmpdir(), 'switchboard-users-'));
      removals.push(() => rm(dir, { recursive: true, force: true }));
      const users = join(dir, 'users.json');
      const phones = Array.from({ length: pairs }, (_, index) => [`caller${index}`, `callee${index}`]).flat();
      await writeFile(users, formatUsersFile(phones.map((user) => userCredentials(user, EXPERIMENT_DOMAIN, PHONE_PASSWORD))));
      Object.assign(serve, { auth, 'auth-users': users });
      bench.authPassword = PHONE_PASSWORD;
    }
    return { serve, bench, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
