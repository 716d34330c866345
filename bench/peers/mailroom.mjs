// Mailroom as a benchmark peer: a data directory with one user bench@bench.test
// (password "bench") whose INBOX is a copy of a corpus Maildir, served by the
// built `mailroom serve` (dist/src/cli.js) on 127.0.0.1.
//
// The bench user's stored credential is the Dovecot peer's: `{PLAIN}bench`
// (bench/peers/dovecot.sh), kept as it is (auth.upgradeHashes: false), so both
// servers do the same work to log in and the figures compare the servers, not
// the password schemes. A second user, scrypt@bench.test, has Mailroom's
// default scrypt hash; the IMAP bench times its login on its own row.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const cli = join(import.meta.dirname, '..', '..', 'dist', 'src', 'cli.js');

export const MAILROOM_USER = 'bench@bench.test';
export const SCRYPT_USER = 'scrypt@bench.test';
/** With prepareMailroom's `warmup`, a user whose INBOX is a second cold copy of the folder. */
export const WARMUP_USER = 'warmup@bench.test';

/**
 * Prepares DIR (data + config) with a cold copy of `maildir` as the user's
 * INBOX; with `warmup`, another cold copy as WARMUP_USER's.
 */
export function prepareMailroom(dir, maildir, port, { warmup = false } = {}) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'mailroom.yaml');
  writeFileSync(
    config,
    `hostname: bench.test\ndata: ./data\nimap: { port: ${port}, tlsPort: false, maxConnectionsPerIp: 1000 }\nauth: { upgradeHashes: false }\n`,
  );
  const run = (args, input) => execFileSync(process.execPath, [cli, '--config', config, ...args], { input, stdio: ['pipe', 'ignore', 'inherit'] });
  run(['domain', 'add', 'bench.test']);
  run(['user', 'add', MAILROOM_USER, '--hash', '{PLAIN}bench']);
  run(['user', 'add', SCRYPT_USER, '--password-stdin'], 'bench');
  if (warmup) run(['user', 'add', WARMUP_USER, '--hash', '{PLAIN}bench']);
  for (const local of warmup ? ['bench', 'warmup'] : ['bench']) {
    const root = join(dir, 'data', 'mail', 'bench.test', local, 'Maildir');
    rmSync(root, { recursive: true, force: true });
    execFileSync('cp', ['-a', maildir, root]);
    // cold: none of our state files (uidlist, caches, snapshot) from the storage bench
    execFileSync('find', [root, '-maxdepth', '2', '(', '-name', 'mailroom-*', '-o', '-name', 'dovecot*', ')', '-delete']);
  }
  // the copy's dirty pages written back now, not by the kernel during the timed run (both peers alike)
  execFileSync('sync');
  return config;
}

/** Starts `mailroom serve`; resolves once the IMAP listener logged its address. */
export async function startMailroom(config) {
  const child = spawn(process.execPath, [cli, 'serve', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (b) => {
      log += b.toString();
      if (/"listener":"imap"[^\n]*"port":\d+/.test(log)) resolve();
      if (log.length > 1_000_000) log = log.slice(-100_000);
    });
    child.once('exit', (code) => reject(new Error(`mailroom serve exited (${code}): ${log.slice(-2000)}`)));
  });
  await ready;
  return {
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
