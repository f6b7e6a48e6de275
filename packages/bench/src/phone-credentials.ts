/**
 * A simulated phone's answer to a Digest challenge (RFC 3261 §22.2, §22.3): the credentials header
 * for a 401 (Authorization) or a 407 (Proxy-Authorization), for the first challenge whose
 * algorithm the sip package computes, as a phone that knows its password does. Every phone's
 * password is the generator's `--auth-password`; the proxy's users file holds the same users.
 */
import { randomBytes } from 'node:crypto';
import { answerDigestChallenge, formatDigestCredentials, parseDigestChallenges, type SipMessage } from '@switchboard/sip';

export const CHALLENGE_STATUSES: ReadonlySet<number> = new Set([401, 407]);

/** The header line (with CRLF) answering `response`'s challenge, or undefined when it carries none we can answer. */
export function credentialsFor(response: SipMessage, user: string, password: string, method: string, uri: string): string | undefined {
  const proxy = response.status === 407;
  const challenges = response.headers(proxy ? 'proxy-authenticate' : 'www-authenticate').flatMap((value) => {
    try {
      return parseDigestChallenges(value);
    } catch {
      return [];
    }
  });
  const challenge = challenges[0];
  if (challenge === undefined) return undefined;
  const credentials = answerDigestChallenge(challenge, { username: user, password, method, uri, cnonce: randomBytes(8).toString('hex') });
  return `${proxy ? 'Proxy-Authorization' : 'Authorization'}: ${formatDigestCredentials(credentials)}\r\n`;
}
