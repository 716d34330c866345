/**
 * Passwords for the CLI come from standard input (`--password-stdin`, for
 * scripts) or from a prompt on the terminal with echo off; never from the
 * command line, where `ps` and shell history would show them.
 */
import { EX, MailroomError } from '../errors.js';
import type { CliIO } from './context.js';

/** Bound on what --password-stdin reads: a password, not a file. */
const MAX_STDIN = 64 * 1024;

export async function readPassword(io: CliIO, o: { fromStdin: boolean; confirm: boolean }): Promise<string> {
  let password: string;
  if (o.fromStdin) {
    password = await readAllStdin(io.stdin);
  } else if (io.stdin.isTTY && io.stdin.setRawMode) {
    password = await prompt(io, 'Password: ');
    if (o.confirm && (await prompt(io, 'Again: ')) !== password) {
      throw new MailroomError(EX.USAGE, 'the two passwords do not match');
    }
  } else {
    throw new MailroomError(EX.USAGE, 'no password: give it on standard input with --password-stdin, or run on a terminal to be asked');
  }
  if (password === '') throw new MailroomError(EX.USAGE, 'the password is empty');
  return password;
}

/** All of stdin, without the one line ending `echo` or a here-string adds. */
async function readAllStdin(stdin: CliIO['stdin']): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > MAX_STDIN) throw new MailroomError(EX.USAGE, `the password on standard input is longer than ${MAX_STDIN} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** One line typed on the terminal in raw mode, so nothing is echoed. */
export function prompt(io: CliIO, question: string): Promise<string> {
  const { stdin, stderr } = io;
  return new Promise((resolve, reject) => {
    let typed = '';
    stderr.write(question);
    stdin.setRawMode?.(true);
    stdin.resume();
    const finish = (err: Error | null) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === '\u0003') return finish(new MailroomError(EX.USAGE, 'interrupted'));
        if (ch === '\u0004') {
          if (typed === '') return finish(new MailroomError(EX.USAGE, 'no password given'));
          continue;
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}
