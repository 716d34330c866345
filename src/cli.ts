#!/usr/bin/env node
/** The `mailroom` executable (package.json "bin"). Everything is in cli/program.ts. */
import { runCli } from './cli/program.js';

// `mailroom user list | head`: a reader that went away is not an error of ours.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
// exitCode rather than exit(): pending writes to stdout are flushed first.
process.exitCode = code;
