import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage, validateRequest, validateResponse } from '@switchboard/sip';
import { ackFor2xx, byeRequest, dialogFromResponse, inviteRequest, newBranch, registerRequest, responseTo, type OutgoingCall, type PhoneAddress } from './phone-messages.js';

const CALLER: PhoneAddress = { user: 'caller1', domain: 'example.com', transport: 'tcp', viaHost: '127.0.0.2', viaPort: 40000, contactHost: '127.0.0.2', contactPort: 40000 };
const CALL: OutgoingCall = { callId: 'abc@bench', fromTag: 'f1', calleeAor: 'sip:callee1@example.com', inviteBranch: newBranch() };

test('REGISTER, INVITE, ACK and BYE are valid requests our parser accepts', () => {
  const register = parseMessage(Buffer.from(registerRequest(CALLER, 'reg-1', 1, 3600).text));
  validateRequest(register);
  assert.equal(register.header('contact'), '<sip:caller1@127.0.0.2:40000;transport=tcp>');
  const invite = parseMessage(Buffer.from(inviteRequest(CALLER, 'callee1', CALL)));
  validateRequest(invite);
  assert.equal(invite.topVia?.transport, 'TCP');
  assert.equal(invite.body.length, Number(invite.header('content-length')));
});

test('the callee\'s 200 copies Vias and Record-Route; the caller routes ACK and BYE by it in reverse', () => {
  const invite = parseMessage(
    Buffer.from(
      inviteRequest(CALLER, 'callee1', CALL).replace(
        'Max-Forwards: 70\r\n',
        'Via: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bK-p1\r\nRecord-Route: <sip:p2.example;lr>\r\nRecord-Route: <sip:127.0.0.1:5060;lr>\r\nMax-Forwards: 69\r\n',
      ),
    ),
  );
  const ok = parseMessage(Buffer.from(responseTo(invite, 200, 'OK', { toTag: 't9', contact: 'sip:callee1@127.0.0.3:41000;transport=tcp', withSdpPort: 41000 })));
  validateResponse(ok);
  assert.equal(ok.headers('via').length, 2);
  assert.equal(ok.toTag, 't9');
  const dialog = dialogFromResponse(ok);
  assert.equal(dialog.remoteTarget, 'sip:callee1@127.0.0.3:41000;transport=tcp');
  assert.deepEqual(dialog.routeSet, ['<sip:127.0.0.1:5060;lr>', '<sip:p2.example;lr>']);
  const ack = parseMessage(Buffer.from(ackFor2xx(CALLER, CALL, dialog)));
  validateRequest(ack);
  assert.equal(ack.requestUriText, 'sip:callee1@127.0.0.3:41000;transport=tcp');
  assert.deepEqual(ack.headers('route'), dialog.routeSet);
  const bye = parseMessage(Buffer.from(byeRequest(CALLER, CALL, dialog, newBranch())));
  validateRequest(bye);
  assert.equal(bye.cseq?.seq, 2);
  assert.equal(bye.toTag, 't9');
});

test('provisional and BYE responses carry no Record-Route or Contact unless asked', () => {
  const bye = parseMessage(Buffer.from(byeRequest(CALLER, CALL, { remoteTarget: 'sip:x@127.0.0.1', routeSet: [], toHeader: '<sip:callee1@example.com>;tag=t' }, newBranch())));
  const ok = parseMessage(Buffer.from(responseTo(bye, 200, 'OK')));
  assert.equal(ok.has('contact'), false);
  assert.equal(ok.toTag, 't');
});
