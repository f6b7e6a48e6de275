/**
 * Certificates for tests, made with the `openssl` command into a fresh temporary directory when a
 * test runs: no private key is ever committed. A test CA issues the server certificate (for
 * 127.0.0.1 and localhost) and a client certificate; a second, untrusted CA issues a client
 * certificate that must be refused.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertificatePair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export interface TestCertificates {
  readonly dir: string;
  /** The trusted test CA (`--tls-ca`). */
  readonly ca: CertificatePair;
  /** For 127.0.0.1 and localhost, server and client use, issued by `ca`. */
  readonly server: CertificatePair;
  /** A client certificate issued by `ca`. */
  readonly client: CertificatePair;
  /** A client certificate issued by a CA nobody trusts. */
  readonly untrusted: CertificatePair;
  /** Removes the directory and everything in it. */
  remove(): Promise<void>;
}

const configText = (names: string): string => `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = ${names}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

/**
 * Makes the test CA and certificates. `keyType` `ec` (P-256, the default: quick handshakes) or
 * `rsa` (2048 bits, the study's kind of key exchange cost). `loopbackHosts` N: the leaf
 * certificates name 127.0.0.1 to 127.0.0.N (the load generator spreads its phones over them).
 */
export async function createTestCertificates(options: { keyType?: 'ec' | 'rsa'; days?: number; loopbackHosts?: number } = {}): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'switchboard-tls-'));
  const config = join(dir, 'openssl.cnf');
  const addresses = Array.from({ length: Math.max(1, options.loopbackHosts ?? 1) }, (_, index) => `IP:127.0.0.${index + 1}`);
  await writeFile(config, configText([...addresses, 'DNS:localhost'].join(',')));
  const newKey = options.keyType === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const days = String(options.days ?? 2);
  const openssl = async (args: string[]): Promise<void> => {
    await run('openssl', args, { cwd: dir, timeout: 20_000 });
  };
  const pair = async (name: string): Promise<CertificatePair> => {
    const certFile = join(dir, `${name}.pem`);
    const keyFile = join(dir, `${name}.key`);
    return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
  };
  const authority = async (name: string, subject: string): Promise<CertificatePair> => {
    await openssl(['req', '-x509', '-new', ...newKey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', days, '-subj', subject, '-config', config, '-extensions', 'ca_ext']);
    return pair(name);
  };
  const leaf = async (name: string, subject: string, issuer: string): Promise<CertificatePair> => {
    await openssl(['req', '-new', ...newKey, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-config', config]);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`, '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-out', `${name}.pem`, '-days', days, '-extfile', config, '-extensions', 'leaf_ext']);
    return pair(name);
  };
  try {
    const ca = await authority('ca', '/CN=Switchboard test CA');
    await authority('rogue-ca', '/CN=Untrusted test CA');
    const [server, client, untrusted] = await Promise.all([
      leaf('server', '/CN=localhost', 'ca'),
      leaf('client', '/CN=Switchboard test client', 'ca'),
      leaf('untrusted', '/CN=Untrusted test client', 'rogue-ca'),
    ]);
    return { dir, ca, server, client, untrusted, remove: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
