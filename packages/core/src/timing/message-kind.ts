import type { SipMessage } from '@switchboard/sip';

/**
 * The message types of one call as study 003 counts them (INVITE, 100, 180, 200, ACK, BYE and
 * the 200 of the BYE), and `other` for the rest (REGISTER, CANCEL, errors ...).
 */
export const MESSAGE_KINDS = ['INVITE', '100', '180', '200', 'ACK', 'BYE', '200-BYE', 'other'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/** The kind of a parsed message: a request by its method, a response by its status and CSeq method. */
export function messageKind(message: SipMessage): MessageKind {
  if (message.isRequest) {
    const method = message.method;
    return method === 'INVITE' || method === 'ACK' || method === 'BYE' ? method : 'other';
  }
  const status = message.status;
  const method = message.cseq?.method;
  if (method === 'INVITE') {
    if (status === 100) return '100';
    if (status === 180) return '180';
    if (status === 200) return '200';
    return 'other';
  }
  return method === 'BYE' && status === 200 ? '200-BYE' : 'other';
}
