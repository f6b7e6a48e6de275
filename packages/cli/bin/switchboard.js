#!/usr/bin/env node
// Thin launcher: the command itself is compiled TypeScript in ../dist.
import { main } from '../dist/main.js';

main(process.argv).catch((error) => {
  const code = typeof error?.code === "string" && error.code.startsWith("ERR_") ? `${error.code}: ` : "";
  process.stderr.write(`switchboard: ${code}${error?.message ?? error}\n`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
});
