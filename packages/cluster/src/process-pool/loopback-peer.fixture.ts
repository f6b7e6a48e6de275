import net from 'node:net';

/** A TCP connection on loopback to a server that keeps what it reads (tests of this package only). */
export interface LoopbackPeer {
  /** The client end, connected. */
  readonly socket: net.Socket;
  /** What the server has read so far. */
  received(): string;
  /** Resolves once the server has read `text` in all (or after 5 s, whatever it has). */
  receivedBy(text: string): Promise<string>;
  close(): void;
}

export async function loopbackPeer(): Promise<LoopbackPeer> {
  const chunks: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const received = (): string => Buffer.concat(chunks).toString();
  return {
    socket,
    received,
    async receivedBy(text) {
      const deadline = Date.now() + 5000;
      while (received() !== text && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return received();
    },
    close() {
      socket.destroy();
      server.close();
    },
  };
}
