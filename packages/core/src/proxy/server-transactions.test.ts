import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { buildResponse, parseMessage } from '@switchboard/sip';
import { serverTransactionKey } from '../transaction/keys.js';
import { DEFAULT_TIMERS } from '../transaction/timers.js';
import { newProxyCounters } from './proxy-counters.js';
import { ServerTransactions } from './server-transactions.js';
import { ALICE, stepRequest } from './steps/routing-step.fixture.js';

const tables: ServerTransactions[] = [];
afterEach(() => {
  for (const table of tables.splice(0)) table.close();
});

function table(): { table: ServerTransactions; sent: number[] } {
  const sent: number[] = [];
  const instance = new ServerTransactions({ sender: { send: (_target, bytes) => sent.push(parseMessage(bytes).status ?? 0) }, timers: DEFAULT_TIMERS, counters: newProxyCounters() });
  tables.push(instance);
  return { table: instance, sent };
}

test('server transactions: a retransmission is absorbed and gets the last response again', () => {
  const { table: transactions, sent } = table();
  const request = stepRequest('MESSAGE', 'sip:bob@example.com');
  const key = serverTransactionKey(request);
  assert.equal(transactions.absorbRetransmission(key), false);
  const server = transactions.create(key, request, ALICE);
  assert.equal(transactions.size, 1);
  server.respond(202, buildResponse(request, 202));
  assert.equal(transactions.absorbRetransmission(key), true);
  assert.deepEqual(sent, [202, 202]);
});

test('server transactions: the ACK of a failure is absorbed; before the final, or after a 2xx, it is not', () => {
  const { table: transactions } = table();
  const invite = stepRequest('INVITE', 'sip:bob@example.com');
  const ack = stepRequest('ACK', 'sip:bob@example.com');
  assert.equal(transactions.absorbAck(ack), false, 'no transaction');
  const server = transactions.create(serverTransactionKey(invite), invite, ALICE);
  assert.equal(transactions.absorbAck(ack), false, 'no final response yet');
  server.respond(486, buildResponse(invite, 486));
  assert.equal(transactions.absorbAck(ack), true);
  transactions.close();
  assert.equal(transactions.size, 0);
});
