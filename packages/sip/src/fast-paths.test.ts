import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseNameAddr, parseNameAddrStrictly } from './name-addr.js';
import { parseUri, parseUriStrictly } from './uri.js';
import { parseVia, parseViaStrictly } from './via.js';

// The parsers try one regular expression for the common shape before the full scanner. Both
// paths must read every input the same way: same value, or both an error with the same code.
function sameResult<T>(fast: (text: string) => T, strict: (text: string) => T, text: string): void {
  let fastResult: unknown;
  let strictResult: unknown;
  try {
    fastResult = fast(text);
  } catch (error) {
    fastResult = { error: (error as { code?: string }).code };
  }
  try {
    strictResult = strict(text);
  } catch (error) {
    strictResult = { error: (error as { code?: string }).code };
  }
  assert.deepEqual(fastResult, strictResult, text);
}

const token = fc.stringMatching(/^[A-Za-z0-9\-.!%*_+`'~]{1,8}$/);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const host = fc.oneof(
  fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.')),
  fc.constantFrom('192.0.2.1', '[2001:db8::1]', '[::1]', 'a..b', '-x.com', '[1::2::3]', 'x-.y'),
);
const port = fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined });
const uriParams = fc.array(fc.tuple(fc.stringMatching(/^[a-zA-Z0-9\-_.]{1,6}$/), fc.option(fc.stringMatching(/^[a-zA-Z0-9\-_.:]{1,6}$/), { nil: undefined })), { maxLength: 3 });
const uri = fc
  .record({
    scheme: fc.constantFrom('sip', 'sips', 'SIP'),
    user: fc.option(fc.stringMatching(/^[a-zA-Z0-9\-_.!~*'()&=+$,;?/%]{1,10}$/), { nil: undefined }),
    password: fc.option(fc.stringMatching(/^[a-zA-Z0-9&=+$,]{0,5}$/), { nil: undefined }),
    host,
    port,
    params: uriParams,
  })
  .map(({ scheme, user, password, host: h, port: p, params }) => {
    const userinfo = user === undefined ? '' : `${user}${password === undefined ? '' : `:${password}`}@`;
    const paramText = params.map(([name, value]) => (value === undefined ? `;${name}` : `;${name}=${value}`)).join('');
    return `${scheme}:${userinfo}${h}${p === undefined ? '' : `:${p}`}${paramText}`;
  });

test('URI fast path and full scanner agree', () => {
  fc.assert(fc.property(uri, (text) => sameResult(parseUri, parseUriStrictly, text)), { numRuns: 3000 });
});

test('Via fast path and full scanner agree', () => {
  const via = fc
    .record({ transport: fc.constantFrom('UDP', 'tcp', 'TLS', 'SCTP'), host, port, params: fc.array(fc.tuple(fc.constantFrom('branch', 'rport', 'received', 'ttl', 'maddr', 'x'), fc.option(token, { nil: undefined })), { maxLength: 4 }) })
    .map(({ transport, host: h, port: p, params }) => {
      const paramText = params.map(([name, value]) => (value === undefined ? `;${name}` : `;${name}=${value}`)).join('');
      return `SIP/2.0/${transport} ${h}${p === undefined ? '' : `:${p}`}${paramText}`;
    });
  fc.assert(fc.property(via, (text) => sameResult(parseVia, parseViaStrictly, text)), { numRuns: 3000 });
});

test('name-addr fast path and full scanner agree', () => {
  const display = fc.oneof(
    fc.constant(''),
    fc.stringMatching(/^[A-Za-z0-9.]{1,6}( [A-Za-z]{1,4})? ?$/),
    fc.stringMatching(/^[ -~]{0,8}$/).map((name) => `"${name.replace(/["\\]/g, '\\$&')}" `),
  );
  const params = fc.array(fc.tuple(fc.constantFrom('tag', 'expires', 'q', 'x'), fc.option(token, { nil: undefined })), { maxLength: 3 });
  const value = fc.tuple(display, uri, params).map(([name, u, list]) => `${name}<${u}>${list.map(([k, v]) => (v === undefined ? `;${k}` : `;${k}=${v}`)).join('')}`);
  fc.assert(fc.property(value, (text) => sameResult(parseNameAddr, parseNameAddrStrictly, text)), { numRuns: 3000 });
});

// The Via fast path was this regular expression until the scanner in via.ts replaced it: the
// scanner must take the same texts and read the same parts from them.
const FAST_VIA_EXPRESSION =
  /^SIP\/2\.0\/([A-Za-z]+) ([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?((?:;[A-Za-z0-9\-.!%*_+`'~]+(?:=[A-Za-z0-9\-.!%*_+`'~:[\]]+)?)*)$/;

test('Via fast path reads what the regular expression it replaced read', () => {
  const char = fc.constantFrom(...'SIP/2.0UDPudp a1:;=[]-.!%*_+`\'~brx\t"é,Z9'.split(''));
  const tail = fc.array(char, { maxLength: 40 }).map((chars) => chars.join(''));
  const text = fc.oneof(
    tail.map((rest) => `SIP/2.0/${rest}`),
    fc.tuple(fc.constantFrom('UDP', 'tcp', 'Tls'), host, port, tail).map(([transport, h, p, rest]) => `SIP/2.0/${transport} ${h}${p === undefined ? '' : `:${p}`}${rest}`),
  );
  fc.assert(
    fc.property(text, (value) => {
      const match = FAST_VIA_EXPRESSION.exec(value);
      let parsed: ReturnType<typeof parseVia> | { error: string | undefined };
      try {
        parsed = parseVia(value);
      } catch (error) {
        parsed = { error: (error as { code?: string }).code };
      }
      if (match === null || Number(match[3] ?? 0) > 65535) {
        sameResult(parseVia, parseViaStrictly, value);
        return;
      }
      if ('error' in parsed) {
        assert.equal(parsed.error, 'ERR_SIP_INVALID_VIA', value);
        return;
      }
      const params = new Map<string, string | null>();
      for (const part of (match[4] as string).split(';').slice(1)) {
        const equals = part.indexOf('=');
        if (equals < 0) params.set(part.toLowerCase(), null);
        else params.set(part.slice(0, equals).toLowerCase(), part.slice(equals + 1));
      }
      assert.deepEqual(
        { transport: parsed.transport, host: parsed.host, port: parsed.port, params: parsed.params, protocol: parsed.protocol },
        { transport: (match[1] as string).toUpperCase(), host: match[2], port: match[3] === undefined ? undefined : Number(match[3]), params, protocol: 'SIP/2.0' },
        value,
      );
    }),
    { numRuns: 5000 },
  );
});
