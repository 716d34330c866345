// vitest globalSetup: compile the TypeScript once before any test file runs,
// so tests that start child processes (the CLI, concurrent writers) run the
// same JavaScript that `npm install` / `npm start` run. Type errors are the
// build's job to refuse (`npm install` runs it via `prepare`); here tsc still
// emits, and we report them without stopping the suite.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  const r = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], {
    cwd: root,
    encoding: 'utf8',
  });
  if (r.status !== 0) process.stderr.write(`tsc reported errors (JavaScript was still emitted):\n${r.stdout}${r.stderr}\n`);
}
