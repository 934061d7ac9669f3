#!/usr/bin/env node
// Runs a command (the test suite) with the local services the tests use: a Redis on 127.0.0.1:6379.
// If redis-server is installed and nothing listens yet, start one for the duration of the command.
// If it is not installed, the Redis-backed tests say so and skip; CI (.ci/run) installs it.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

const port = Number(process.env.TFPIPE_REDIS_PORT ?? 6379);

function listening() {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

let redis;
if (!(await listening())) {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  if (which.status === 0) {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 50 && !(await listening()); i++) await new Promise((r) => setTimeout(r, 100));
    console.error(`with-services: started redis-server on 127.0.0.1:${port}`);
  } else {
    console.error('with-services: redis-server is not installed; the Redis-backed tests will be skipped (apt-get install redis-server)');
  }
}

const [cmd, ...args] = process.argv.slice(2);
const child = spawn(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
const stop = () => redis?.kill('SIGTERM');
child.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
