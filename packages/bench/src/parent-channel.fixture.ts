/** A child for parent-channel.test.ts: sends every millisecond until its parent disconnects, then exits 0 a little later. */
import { sendToParent } from './parent-channel.js';

const timer = setInterval(() => {
  for (let i = 0; i < 20; i++) sendToParent({ type: 'progress', padding: 'x'.repeat(512) });
}, 1);
process.on('disconnect', () => {
  setTimeout(() => {
    clearInterval(timer);
    process.exit(0);
  }, 200);
});
sendToParent({ type: 'ready' });
