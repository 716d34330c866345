#!/usr/bin/env node
/** The `mailroom` executable (package.json "bin"). Everything is in cli/program.ts. */
import { runCli } from './cli/program.js';

const code = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
// exitCode rather than exit(): pending writes to stdout are flushed first.
process.exitCode = code;
