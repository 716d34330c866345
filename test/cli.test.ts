// The `mailroom` command line, run as the built JavaScript in child processes
// (test/setup-build.ts compiles it before the suite), as an operator would.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthService } from '../src/accounts/auth.js';
import { AccountStore } from '../src/accounts/store.js';
import { CliContext, type CliIO } from '../src/cli/context.js';
import { prompt } from '../src/cli/password-input.js';
import { buildProgram, runCli } from '../src/cli/program.js';

const root = join(import.meta.dirname, '..');
const CLI = join(root, 'dist/src/cli.js');
const base = mkdtempSync(join(tmpdir(), 'mailroom-cli-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function mailroom(args: string[], o: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: o.cwd, env: { PATH: process.env.PATH, ...o.env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(o.input ?? '');
  });
}

let n = 0;
/** A working directory with a mailroom.yaml whose data directory is ./data. */
function workdir(): string {
  const d = join(base, `w${n++}`);
  mkdirSync(d);
  writeFileSync(join(d, 'mailroom.yaml'), 'data: ./data\n');
  return d;
}

/** Every line a person sees on stderr is one line: exactly one, no stack trace. */
function oneLine(r: Run): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0];
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: the build (test/setup-build.ts) did not run`);
});

describe('mailroom CLI round trip', () => {
  it('domain, user, password, quota, aliases, list --json, delete', async () => {
    const cwd = workdir();
    const run = (args: string[], input?: string) => mailroom(args, { cwd, input });

    expect(await run(['domain', 'add', 'Example.org'])).toMatchObject({ code: 0, stdout: 'domain example.org added\n' });
    const add = await run(['user', 'add', 'Alice@example.org', '--quota', '2G', '--password-stdin'], 'first secret\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^user alice@example\.org added \(quota 2G; Maildir .*\/data\/mail\/example\.org\/alice\/Maildir\)\n$/);
    const maildir = join(cwd, 'data/mail/example.org/alice/Maildir');
    for (const p of ['cur', 'new', 'tmp', '.Sent/cur', '.Drafts/new', '.Trash/tmp', '.Junk', '.Archive']) expect(existsSync(join(maildir, p)), p).toBe(true);

    expect(await run(['check', 'alice@example.org', '--password-stdin'], 'first secret')).toMatchObject({
      code: 0,
      stdout: 'password verifies for alice@example.org\n',
    });
    expect(await run(['check', 'alice@example.org', '--password-stdin'], 'wrong')).toMatchObject({
      code: 1,
      stdout: 'password does not verify for alice@example.org\n',
    });

    expect((await run(['user', 'passwd', 'alice@example.org', '--password-stdin'], 'second secret\n')).code).toBe(0);
    expect((await run(['check', 'alice@example.org', '--password-stdin'], 'first secret')).code).toBe(1);
    expect((await run(['check', 'alice@example.org', '--password-stdin'], 'second secret')).code).toBe(0);

    // an imported hash (here Dovecot's {PLAIN}) is stored as given and verifies; one we cannot verify is refused
    expect((await run(['user', 'passwd', 'alice@example.org', '--hash', '{PLAIN}third secret'])).code).toBe(0);
    expect((await run(['check', 'alice@example.org', '--password-stdin'], 'third secret')).code).toBe(0);
    const bad = await run(['user', 'passwd', 'alice@example.org', '--hash', '{ROT13}frperg']);
    expect(bad.code).toBe(64);
    expect(oneLine(bad)).toMatch(/^mailroom: --hash: not a hash Mailroom can verify/);
    expect((await run(['user', 'passwd', 'alice@example.org', '--hash', '{PLAIN}x', '--password-stdin'], 'y')).code).toBe(64);
    expect((await run(['check', 'alice@example.org', '--password-stdin'], 'third secret')).code).toBe(0);

    expect(await run(['user', 'quota', 'alice@example.org', '1G', '--messages', '5000'])).toMatchObject({
      code: 0,
      stdout: 'alice@example.org: quota 1G, 5000 messages\n',
    });
    expect((await run(['user', 'add', 'bob@example.org', '--password-stdin'], 'bob pw')).code).toBe(0);
    const list = await run(['user', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain('scrypt'); // no password hashes in listings
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ address: 'alice@example.org', enabled: true, quota: { bytes: 1024 ** 3, messages: 5000 }, forward: null, maildir }),
      expect.objectContaining({ address: 'bob@example.org', enabled: true, quota: null }),
    ]);
    expect((await run(['user', 'list', 'example.org'])).stdout).toBe(
      'alice@example.org  enabled  quota 1G, 5000 messages\nbob@example.org  enabled  no quota\n',
    );

    expect((await run(['alias', 'add', 'postmaster@example.org', 'alice@example.org', 'bob@example.org'])).stdout).toBe(
      'alias postmaster@example.org -> alice@example.org, bob@example.org\n',
    );
    expect((await run(['alias', 'add', '@example.org', 'alice@example.org'])).code).toBe(0);
    expect(JSON.parse((await run(['alias', 'list', '--json'])).stdout)).toEqual([
      { alias: '@example.org', domain: 'example.org', targets: ['alice@example.org'] },
      { alias: 'postmaster@example.org', domain: 'example.org', targets: ['alice@example.org', 'bob@example.org'] },
    ]);
    expect((await run(['alias', 'del', 'postmaster@example.org', 'bob@example.org'])).code).toBe(0);
    expect((await run(['alias', 'list'])).stdout).toBe('@example.org -> alice@example.org\npostmaster@example.org -> alice@example.org\n');

    expect(await run(['user', 'del', 'alice@example.org'])).toMatchObject({ code: 0, stdout: 'user alice@example.org deleted\n' });
    expect(existsSync(maildir)).toBe(false);
    const gone = await run(['check', 'alice@example.org', '--password-stdin'], 'second secret');
    expect(gone.code).toBe(67);
    expect(oneLine(gone)).toBe('mailroom: no such user: alice@example.org');
    expect(JSON.parse((await run(['user', 'list', '--json'])).stdout).map((u: { address: string }) => u.address)).toEqual(['bob@example.org']);

    const notEmpty = await run(['domain', 'del', 'example.org']);
    expect(notEmpty.code).toBe(73);
    expect((await run(['domain', 'del', 'example.org', '--force'])).code).toBe(0);
    expect((await run(['domain', 'list', '--json'])).stdout).toBe('[]\n');
  });

  it('a running server sees users added and passwords changed by the CLI at once', async () => {
    const cwd = workdir();
    const store = new AccountStore(join(cwd, 'data'));
    const auth = new AuthService(store, { failureDelayMs: 1 });
    await mailroom(['domain', 'add', 'example.org'], { cwd });
    expect((await auth.authenticate('carol@example.org', 'pw one', '192.0.2.1')).ok).toBe(false);
    expect((await mailroom(['user', 'add', 'carol@example.org', '--password-stdin'], { cwd, input: 'pw one' })).code).toBe(0);
    expect(await auth.authenticate('carol@example.org', 'pw one', '192.0.2.1')).toEqual({ ok: true, address: 'carol@example.org' });
    expect((await mailroom(['user', 'passwd', 'carol@example.org', '--password-stdin'], { cwd, input: 'pw two' })).code).toBe(0);
    expect((await auth.authenticate('carol@example.org', 'pw one', '192.0.2.1')).ok).toBe(false);
    expect(await auth.authenticate('carol@example.org', 'pw two', '192.0.2.1')).toEqual({ ok: true, address: 'carol@example.org' });
    expect((await mailroom(['user', 'disable', 'carol@example.org'], { cwd })).code).toBe(0);
    expect(await auth.authenticate('carol@example.org', 'pw two', '192.0.2.1')).toEqual({ ok: false, reason: 'disabled' });
  });

  it('concurrent `user add` processes for one domain lose no user', async () => {
    const cwd = workdir();
    await mailroom(['domain', 'add', 'example.org'], { cwd });
    const names = ['u1', 'u2', 'u3', 'u4'].map((u) => `${u}@example.org`);
    const runs = await Promise.all(names.map((a) => mailroom(['user', 'add', a, '--password-stdin'], { cwd, input: `pw of ${a}` })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const listed = JSON.parse((await mailroom(['user', 'list', 'example.org', '--json'], { cwd })).stdout) as { address: string }[];
    expect(listed.map((u) => u.address)).toEqual(names);
    const store = new AccountStore(join(cwd, 'data'));
    for (const a of names) expect(await new AuthService(store, { failureDelayMs: 1 }).authenticate(a, `pw of ${a}`, '192.0.2.1')).toMatchObject({ ok: true });
  });
});

describe('mailroom CLI configuration and exit codes', () => {
  it('--config is accepted before or after the subcommand, and MAILROOM_CONFIG too', async () => {
    const cwd = join(base, `w${n++}`);
    mkdirSync(join(cwd, 'etc'), { recursive: true });
    writeFileSync(join(cwd, 'etc/a.yaml'), 'data: ../state-a\n'); // relative to the file
    writeFileSync(join(cwd, 'etc/b.yaml'), 'data: ../state-b\n');
    writeFileSync(join(cwd, 'etc/c.yaml'), 'data: ../state-c\n');
    expect((await mailroom(['--config', 'etc/a.yaml', 'domain', 'add', 'a.example'], { cwd })).code).toBe(0);
    expect((await mailroom(['domain', 'add', 'b.example', '--config', 'etc/b.yaml'], { cwd })).code).toBe(0);
    expect((await mailroom(['domain', 'add', 'c.example'], { cwd, env: { MAILROOM_CONFIG: 'etc/c.yaml' } })).code).toBe(0);
    expect((await mailroom(['domain', '-c', 'etc/b.yaml', 'list'], { cwd })).stdout).toBe('b.example\n');
    for (const x of ['a', 'b', 'c']) expect(existsSync(join(cwd, `state-${x}/domains/${x}.example/users.json`)), x).toBe(true);
  });

  it('configuration errors: one line naming file and key, exit 78', async () => {
    const cwd = workdir();
    writeFileSync(join(cwd, 'mailroom.yaml'), 'imap:\n  port: 123456\n');
    for (const args of [['serve'], ['domain', 'list']]) {
      const r = await mailroom(args, { cwd });
      expect(r.code).toBe(78);
      expect(oneLine(r)).toBe('mailroom: mailroom.yaml: imap.port: must be a port number 1-65535 or false');
    }
    const missing = await mailroom(['serve', '--config', 'nowhere.yaml'], { cwd });
    expect(missing.code).toBe(78);
    expect(oneLine(missing)).toBe('mailroom: nowhere.yaml: cannot read the configuration file (ENOENT)');
    // help still works with a broken configuration
    expect((await mailroom(['user', 'add', '--help'], { cwd })).code).toBe(0);
  });

  it('usage, no such user or domain, cannot create: sysexits codes with one line each', async () => {
    const cwd = workdir();
    await mailroom(['domain', 'add', 'example.org'], { cwd });
    await mailroom(['user', 'add', 'alice@example.org', '--password-stdin'], { cwd, input: 'pw' });
    const cases: [string[], string | undefined, number, RegExp][] = [
      [['user', 'add', 'x@example.org', '--bogus'], 'pw', 64, /unknown option '--bogus'/],
      [['user', 'add'], undefined, 64, /missing required argument 'address'/],
      [['frobnicate'], undefined, 64, /unknown command 'frobnicate'/],
      [['user', 'add', 'not-an-address', '--password-stdin'], 'pw', 64, /^mailroom: "not-an-address" is not an address of the form user@domain$/],
      [['user', 'add', 'bob@example.org'], undefined, 64, /^mailroom: no password: give it on standard input with --password-stdin/],
      [['user', 'add', 'bob@example.org', '--password-stdin'], '', 64, /^mailroom: the password is empty$/],
      [['user', 'quota', 'alice@example.org', '2 lots'], undefined, 64, /^mailroom: "2 lots" is not a size/],
      [['user', 'add', 'bob@nowhere.example', '--password-stdin'], 'pw', 67, /^mailroom: no such domain: nowhere\.example/],
      [['user', 'passwd', 'ghost@example.org', '--password-stdin'], 'pw', 67, /^mailroom: no such user: ghost@example\.org$/],
      [['user', 'del', 'ghost@example.org'], undefined, 67, /^mailroom: no such user: ghost@example\.org$/],
      [['user', 'list', 'nowhere.example'], undefined, 67, /^mailroom: no such domain: nowhere\.example$/],
      [['alias', 'del', 'nothing@example.org'], undefined, 67, /^mailroom: no such alias: nothing@example\.org$/],
      [['user', 'add', 'alice@example.org', '--password-stdin'], 'pw', 73, /^mailroom: user alice@example\.org already exists$/],
      [['domain', 'add', 'example.org'], undefined, 73, /^mailroom: domain example\.org already exists$/],
    ];
    const results = await Promise.all(cases.map(([args, input]) => mailroom(args, { cwd, input })));
    results.forEach((r, i) => {
      const [args, , code, message] = cases[i];
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(oneLine(r), args.join(' ')).toMatch(message);
    });
  });

  it('serve refuses a data directory it cannot write (73)', async () => {
    // serving itself is tested in test/e2e-imap-processes.test.ts
    const cwd = workdir();
    writeFileSync(join(cwd, 'blocker'), '');
    writeFileSync(join(cwd, 'mailroom.yaml'), 'data: ./blocker/data\n');
    const blocked = await mailroom(['serve'], { cwd });
    expect(blocked.code).toBe(73);
    expect(oneLine(blocked)).toMatch(/^mailroom: the data directory .*\/blocker\/data is not writable \(ENOTDIR\)$/);
  });
});

describe('mailroom CLI help and prompt (in process)', () => {
  function captureIO(stdin: CliIO['stdin'] = new PassThrough()): CliIO & { output: () => string } {
    let out = '';
    const sink = new PassThrough();
    sink.on('data', (b: Buffer) => (out += b.toString()));
    return { stdin, stdout: sink, stderr: sink, env: {}, cwd: base, output: () => out };
  }

  it('every command has --help with an example', async () => {
    const paths: string[][] = [];
    const walk = (cmd: Command, path: string[]) => {
      for (const c of cmd.commands) {
        if (c.name() === 'help') continue;
        paths.push([...path, c.name()]);
        walk(c, [...path, c.name()]);
      }
    };
    walk(buildProgram(new CliContext(captureIO()), () => {}), []);
    expect(paths.length).toBeGreaterThanOrEqual(18);
    for (const p of [[], ...paths]) {
      const io = captureIO();
      expect(await runCli([...p, '--help'], io), p.join(' ')).toBe(0);
      expect(io.output(), p.join(' ')).toMatch(/\nExamples?:\n {2}\$ .*mailroom /);
    }
  });

  it('the terminal prompt reads a line without echo, with backspace; Ctrl-C aborts', async () => {
    const modes: boolean[] = [];
    const tty = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (m: boolean) => modes.push(m) });
    const io = captureIO(tty);
    const answer = prompt(io, 'Password: ');
    tty.write('sex\u007fcret\r');
    expect(await answer).toBe('secret');
    expect(modes).toEqual([true, false]);
    expect(io.output()).toBe('Password: \n'); // nothing typed was echoed

    const aborted = prompt(io, 'Password: ');
    tty.write('abc\u0003');
    await expect(aborted).rejects.toThrow('interrupted');
  });
});
