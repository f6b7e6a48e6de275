import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SipError, type SipErrorCode } from './errors.js';
import type { SipMessage } from './message.js';
import { parseMessage } from './parser.js';
import { validateRequest, validateResponse } from './validate.js';

interface Torture {
  file: string;
  section: string;
  title: string;
  class: 'valid' | 'invalid' | 'transaction-semantic' | 'application-semantic' | 'backward-compat';
  type: 'request' | 'response';
  method: string | null;
  requestUri: string | null;
  status: number | string | null;
  callId: string | null;
  cseq: { seq: number; method: string } | null;
  fromTag: string | null;
  toTag: string | null;
  viaCount: number;
  topViaBranch: string | null;
  maxForwards: number | null;
  contentLengthHeader: number | null;
  bodyBytes: number;
  rfcExpectation: string;
}

/**
 * The messages come byte for byte from the copy of the RFC's archive that the npm `sip` package
 * ships (test/messages), with one repair: its baddn.dat lacks the empty line that ends every SIP
 * header section, which RFC 4475 §3.1.2.15 prints. The manifest's expected fields were read from
 * those bytes with an independent script (regular expressions, not this parser).
 */
const folder = new URL('../test/fixtures/rfc4475/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', folder), 'utf8')) as Torture[];

/**
 * Where each message the RFC calls malformed is caught, and with which code: at parse time, when
 * the proxy validates a request before acting on it, or when a lazily parsed header is read.
 */
type Stage = 'parse' | 'validate' | 'from' | 'to' | 'date' | 'expires';
const REJECTED: Record<string, { stage: Stage; code: SipErrorCode }> = {
  'badinv01.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_VIA' },
  'clerr.dat': { stage: 'parse', code: 'ERR_SIP_BODY_TRUNCATED' },
  'ncl.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_CONTENT_LENGTH' },
  'scalar02.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_CSEQ' },
  'scalarlg.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_CSEQ' },
  'quotbal.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_NAME_ADDR' },
  'ltgtruri.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_URI' },
  'lwsruri.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_START_LINE' },
  'lwsstart.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_START_LINE' },
  'trws.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_START_LINE' },
  'escruri.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_URI' },
  'baddate.dat': { stage: 'date', code: 'ERR_SIP_INVALID_HEADER_VALUE' },
  'regbadct.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_NAME_ADDR' },
  'badaspec.dat': { stage: 'to', code: 'ERR_SIP_INVALID_NAME_ADDR' },
  'baddn.dat': { stage: 'from', code: 'ERR_SIP_INVALID_NAME_ADDR' },
  'badvers.dat': { stage: 'parse', code: 'ERR_SIP_UNSUPPORTED_VERSION' },
  'mismatch01.dat': { stage: 'validate', code: 'ERR_SIP_CSEQ_METHOD_MISMATCH' },
  'mismatch02.dat': { stage: 'validate', code: 'ERR_SIP_CSEQ_METHOD_MISMATCH' },
  'bigcode.dat': { stage: 'parse', code: 'ERR_SIP_INVALID_STATUS_CODE' },
  'insuf.dat': { stage: 'validate', code: 'ERR_SIP_MISSING_HEADER' },
  'unkscm.dat': { stage: 'validate', code: 'ERR_SIP_UNSUPPORTED_URI_SCHEME' },
  'novelsc.dat': { stage: 'validate', code: 'ERR_SIP_UNSUPPORTED_URI_SCHEME' },
  'multi01.dat': { stage: 'parse', code: 'ERR_SIP_DUPLICATE_HEADER' },
  'mcl01.dat': { stage: 'parse', code: 'ERR_SIP_DUPLICATE_HEADER' },
};

function validate(message: SipMessage): void {
  if (message.isRequest) validateRequest(message);
  else validateResponse(message);
}

function runStage(message: SipMessage, stage: Exclude<Stage, 'parse'>): void {
  switch (stage) {
    case 'validate':
      validate(message);
      return;
    case 'from':
      void message.from;
      return;
    case 'to':
      void message.to;
      return;
    case 'date':
      message.date();
      return;
    case 'expires':
      message.expires();
      return;
  }
}

function expectCode(run: () => unknown, code: SipErrorCode, what: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof SipError, `${what}: expected ${code}, got ${String(error)}`);
    assert.equal(error.code, code, `${what}: ${error.message}`);
    return true;
  });
}

test('the manifest lists every RFC 4475 message', () => {
  assert.ok(manifest.length >= 45, `${manifest.length} messages`);
  for (const file of Object.keys(REJECTED)) assert.ok(manifest.some((entry) => entry.file === file), `${file} is in the manifest`);
});

for (const entry of manifest) {
  test(`RFC 4475 ${entry.section} ${entry.title} (${entry.file})`, () => {
    const bytes = readFileSync(new URL(entry.file, folder));
    const rejection = REJECTED[entry.file];
    if (rejection?.stage === 'parse') {
      expectCode(() => parseMessage(bytes), rejection.code, entry.file);
      return;
    }
    const message = parseMessage(bytes);
    if (rejection !== undefined) {
      expectCode(() => runStage(message, rejection.stage as Exclude<Stage, 'parse'>), rejection.code, entry.file);
    } else if (entry.class !== 'invalid') {
      // Application-semantic messages (Max-Forwards 0, unknown Proxy-Require ...) parse and
      // validate; what the proxy answers is the proxy's business.
      validate(message);
      void message.from;
      void message.to;
    }
    assert.equal(message.isRequest, entry.type === 'request');
    if (entry.type === 'request') {
      assert.equal(message.method, entry.method);
      assert.equal(message.requestUriText, entry.requestUri);
    } else {
      assert.equal(message.status, Number(entry.status));
    }
    if (entry.callId !== null) assert.equal(message.callId, entry.callId);
    if (entry.cseq !== null) assert.deepEqual(message.cseq, entry.cseq);
    assert.equal(message.fromTag ?? null, entry.fromTag);
    assert.equal(message.toTag ?? null, entry.toTag);
    assert.equal(message.via.length, entry.viaCount);
    assert.equal(message.topVia?.branch ?? null, entry.topViaBranch);
    assert.equal(message.maxForwards ?? null, entry.maxForwards);
    // The body is Content-Length bytes when the header is there, else the rest of the datagram.
    assert.equal(message.body.length, entry.contentLengthHeader ?? entry.bodyBytes);
    // What was parsed goes out byte for byte.
    assert.deepEqual(message.serialize(), message.rawBytes);
  });
}
