#!/usr/bin/env node
// Runs a command (the test suite) with the local services the tests use: a Redis on 127.0.0.1:6379 and a
// Chromium on PATH for the report's browser test.
// If redis-server is installed and nothing listens yet, start one for the duration of the command.
// Locally, a missing service makes the tests that need it say so and skip. Under CI (`CI` set, as .ci/run does)
// or with TFPIPE_REQUIRE_SERVICES=1, a missing service fails the run here, before any test, and the tests
// themselves fail instead of skipping (TFPIPE_REQUIRE_SERVICES=1 is passed on to them).
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';

const port = Number(process.env.TFPIPE_REDIS_PORT ?? 6379);
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== '0' && process.env.CI.toLowerCase() !== 'false';
const required = process.env.TFPIPE_REQUIRE_SERVICES ? process.env.TFPIPE_REQUIRE_SERVICES !== '0' : ci;

function listening() {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.end();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

const onPath = (name) => spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
const problems = [];

let redis;
if (!(await listening())) {
  if (onPath('redis-server')) {
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Wait for the server's own "Ready to accept connections" line (or its exit), not for a number of seconds.
    const ready = await new Promise((resolve) => {
      let out = '';
      redis.stdout.on('data', (d) => {
        out += d;
        if (/ready to accept connections/i.test(out)) resolve(true);
      });
      redis.on('exit', () => resolve(false));
    });
    redis.stdout.resume();
    if (ready && (await listening())) console.error(`with-services: started redis-server on 127.0.0.1:${port}`);
    else problems.push(`redis-server did not start on 127.0.0.1:${port}`);
  } else {
    problems.push('redis-server is not installed (apt-get install redis-server)');
  }
}
if (!['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'].some(onPath) && !process.env.TFPIPE_CHROMIUM) {
  problems.push('no chromium, chromium-browser or google-chrome on PATH (apt-get install chromium, or set TFPIPE_CHROMIUM)');
}
for (const p of problems) console.error(`with-services: ${p}; ${required ? 'required under CI, failing' : 'the tests that need it will be skipped'}`);
if (required && problems.length > 0) {
  redis?.kill('SIGTERM');
  process.exit(1);
}

const [cmd, ...args] = process.argv.slice(2);
const env = required ? { ...process.env, TFPIPE_REQUIRE_SERVICES: '1' } : process.env;
const child = spawn(cmd, args, { stdio: 'inherit', env, shell: process.platform === 'win32' });
const stop = () => redis?.kill('SIGTERM');
child.on('exit', (code, signal) => {
  stop();
  process.exit(code ?? (signal ? 1 : 0));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
