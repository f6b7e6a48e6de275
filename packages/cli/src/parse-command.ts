import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { formatUri, isSipError, parseMessage, validateRequest, validateResponse } from '@switchboard/sip';

/**
 * `switchboard parse FILE`: parses one SIP message from a file (or `-` for stdin) and prints its
 * routing fields as JSON, or the coded error and the response a proxy would send.
 */
export function parseCommand(): Command {
  return new Command('parse')
    .description('parse a SIP message from a file (- for stdin) and print its fields, or the error a proxy would answer')
    .argument('<file>', 'file holding one SIP message, or - for stdin')
    .action(async (file: string) => {
      const bytes = file === '-' ? await readStdin() : await readFile(file);
      const description = describe(bytes);
      process.stdout.write(`${JSON.stringify(description, null, 2)}\n`);
      if (!description.ok) process.exitCode = 2;
    });
}

function describe(bytes: Buffer): { ok: boolean } & Record<string, unknown> {
  try {
    const message = parseMessage(bytes);
    if (message.isRequest) validateRequest(message);
    else validateResponse(message);
    return {
      ok: true,
      type: message.isRequest ? 'request' : 'response',
      method: message.method,
      requestUri: message.requestUri === undefined ? undefined : formatUri(message.requestUri),
      status: message.status,
      reason: message.reason,
      callId: message.callId,
      cseq: message.cseq,
      from: message.from?.uriText,
      fromTag: message.fromTag,
      to: message.to?.uriText,
      toTag: message.toTag,
      via: message.via.map((via) => ({ transport: via.transport, host: via.host, port: via.port, branch: via.branch })),
      maxForwards: message.maxForwards,
      route: message.route.map((hop) => hop.uriText),
      recordRoute: message.recordRoute.map((hop) => hop.uriText),
      contact: message.contactStar ? '*' : message.contact.map((contact) => contact.uriText),
      headers: message.fields.length,
      bodyBytes: message.body.length,
    };
  } catch (error) {
    if (!isSipError(error)) throw error;
    return { ok: false, error: error.toJSON(), response: `${error.status} ${error.message}` };
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
