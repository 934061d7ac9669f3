#!/usr/bin/env node
import { main } from './program.js';

// A reader that goes away (`pipeline predict … | head -1`) ends the command quietly, as a closed pipe
// ends any Unix filter; other stdout errors stay errors.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  throw e;
});

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e);
    process.exitCode = 1;
  },
);
