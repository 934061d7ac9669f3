/**
 * The server process of the serve benches: `node --conditions=@tfpipe/source --import tsx serve-child.ts
 * '<json>'` with { runDir, backend, options } (createServer options). Prints one JSON line { url, backend }
 * once listening; SIGTERM closes it (which flushes a request log). A file rather than `node -e`, so the
 * wasm backend's worker threads, which inherit the process's flags, start normally.
 */
import '@tfpipe/backend-wasm';
import { useBackend } from '@tfpipe/core';
import { createServer } from '@tfpipe/serve';

const { runDir, backend, options } = JSON.parse(process.argv[2]!) as { runDir: string; backend: 'wasm' | 'cpu'; options: Record<string, unknown> };
const b = await useBackend(backend);
const server = await createServer(runDir, { ...options, host: '127.0.0.1', port: 0 });
const url = await server.listen();
console.log(JSON.stringify({ url, backend: b.tfName }));
process.on('SIGTERM', () => {
  server.close().then(() => process.exit(0));
});
