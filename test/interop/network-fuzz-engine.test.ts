import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildResponse, parseMessage } from '@switchboard/sip';
import { checkAgainstRequests, checkGeneratedResponse, classify, frameMessages, generateCases, renderCase, SINK_MARK } from './network-fuzz.js';
import { ADDED_BYTES } from '@switchboard/core';

/**
 * The network fuzz's own parts, without a proxy: its cases are a function of the seed, and its
 * checks pass a faithful response and catch the faults they are there for.
 */

const REQUEST = Buffer.from(
  [
    'OPTIONS sip:nobody@example.com SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5555;rport;branch=z9hG4bKa',
    'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKb,SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKc',
    'Max-Forwards: 70',
    'From: "Caller" <sip:a@example.org>;tag=1',
    't: <sip:nobody@example.com>',
    'Call-ID: abc@fuzz.invalid',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
  'latin1',
);

test('the same seed gives the same cases; case i does not depend on the count', () => {
  const endpoints = { client: '127.0.0.1:1', proxy: '127.0.0.1:2', sink: '127.0.0.1:3' };
  const render = (cases: ReturnType<typeof generateCases>): string[] => cases.map((fuzzCase) => renderCase(fuzzCase, endpoints).toString('hex'));
  const short = render(generateCases(42, 100));
  assert.deepEqual(render(generateCases(42, 100)), short);
  assert.deepEqual(render(generateCases(42, 300)).slice(0, 100), short);
  assert.notDeepEqual(render(generateCases(43, 100)), short);
  const cases = generateCases(42, 300);
  assert.deepEqual(new Set(cases.map((fuzzCase) => fuzzCase.transport)), new Set(['udp', 'tcp', 'tls']));
  assert.ok(cases.some((fuzzCase) => fuzzCase.kind === 'response'));
  assert.ok(cases.some((fuzzCase) => fuzzCase.mutations.includes('via-port-0') && fuzzCase.transport === 'udp'));
});

test('a response built from the request bytes, with received and rport stamped and a To tag, passes', () => {
  const request = parseMessage(REQUEST);
  const stamped = Buffer.from(
    buildResponse(request, 404)
      .toString('latin1')
      .replace('127.0.0.1:5555;rport;branch=z9hG4bKa', '127.0.0.1:5555;rport=5555;branch=z9hG4bKa;received=127.0.0.1'),
    'latin1',
  );
  assert.deepEqual(checkGeneratedResponse(REQUEST, stamped, 'tcp'), []);
  assert.equal(classify(stamped), 'generated');
  assert.equal(classify(Buffer.concat([stamped.subarray(0, stamped.length - 2), Buffer.from(`${SINK_MARK}\r\n\r\n`)])), 'forwarded');
});

test('a header copied through UTF-8, a lost Via, a reformatted Via and a UDP response larger than its request are caught', () => {
  const withBytes = Buffer.from(REQUEST.toString('latin1').replace('"Caller"', '"Call\u00ffer"'), 'latin1');
  // A response whose bytes went through a UTF-8 string, as generated messages once were.
  const viaUtf8 = Buffer.from(buildResponse(parseMessage(withBytes), 400).toString('utf8'), 'utf8');
  const findings = checkGeneratedResponse(withBytes, viaUtf8, 'udp');
  assert.ok(findings.some((finding) => finding.rule === 'copy' && finding.detail.startsWith('from not copied')), JSON.stringify(findings));

  const response = buildResponse(parseMessage(REQUEST), 404).toString('latin1');
  const lostVia = Buffer.from(response.replace(/Via: SIP\/2\.0\/TCP[^\r]*\r\n/, ''), 'latin1');
  assert.ok(checkGeneratedResponse(REQUEST, lostVia, 'tcp').some((finding) => finding.detail.includes('Via values')));
  const reformatted = Buffer.from(response.replace('SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKb,SIP/2.0/UDP', 'SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKb, SIP/2.0/UDP').replace('SIP/2.0/UDP 192.0.2.2', 'SIP/2.0/UDP 192.0.2.2:5060'), 'latin1');
  assert.ok(checkGeneratedResponse(REQUEST, reformatted, 'tcp').some((finding) => finding.detail.startsWith('Via not copied')));

  const padded = Buffer.from(response.replace('Content-Length: 0', `X-Padding: ${'p'.repeat(REQUEST.length + ADDED_BYTES)}\r\nContent-Length: 0`), 'latin1');
  assert.deepEqual(checkGeneratedResponse(REQUEST, padded, 'tcp'), []);
  assert.deepEqual(checkGeneratedResponse(REQUEST, padded, 'udp').map((finding) => finding.rule), ['udp-size']);
});

test('for a request that does not parse, what the response copies must still be the request bytes', () => {
  const broken = Buffer.from(REQUEST.toString('latin1').replace('CSeq: 1 OPTIONS', 'CSeq: x OPTIONS'), 'latin1');
  assert.throws(() => parseMessage(broken).cseq);
  const faithful = Buffer.from('SIP/2.0 400 Malformed CSeq\r\nVia: SIP/2.0/UDP 127.0.0.1:5555;rport;branch=z9hG4bKa\r\nCSeq: x OPTIONS\r\nContent-Length: 0\r\n\r\n');
  assert.deepEqual(checkGeneratedResponse(broken, faithful, 'tcp'), []);
  const invented = Buffer.from('SIP/2.0 400 Malformed CSeq\r\nVia: SIP/2.0/UDP 127.0.0.1:5555;rport;branch=z9hG4bKa\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n');
  assert.ok(checkGeneratedResponse(broken, invented, 'tcp').some((finding) => finding.detail.startsWith('cseq not copied')));
});

test('over a stream, a response is checked against the message it answers, whatever came before it', () => {
  const stream = Buffer.concat([Buffer.from(' extra\r\n\r\n\r\n\r\n'), REQUEST]);
  const messages = frameMessages(stream);
  assert.equal(messages.length, 2);
  assert.deepEqual(messages[1], REQUEST);
  const response = buildResponse(parseMessage(REQUEST), 404);
  assert.notDeepEqual(checkGeneratedResponse(stream, response, 'tcp'), []);
  assert.deepEqual(checkAgainstRequests(messages, response, 'tcp'), []);
});
