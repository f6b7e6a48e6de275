// The floor of reading TCP in Node: a server that reads and discards (a 'data' listener, as
// StreamTransport reads), for read-floor.sh. SIGUSR2 prints what it read.
// usage: node tcp-sink.mjs PORT
import net from 'node:net';
const port = Number(process.argv[2]);
let bytes = 0;
let reads = 0;
net.createServer((socket) => socket.on('data', (chunk) => { bytes += chunk.length; reads++; })).listen(port, '127.0.0.1');
process.on('SIGUSR2', () => console.log(`bytes ${bytes} reads ${reads}`));
