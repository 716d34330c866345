/**
 * What every command needs: where to write, where passwords come from, and
 * the configuration and account store, loaded only when a command runs (so
 * `--help` works even with a broken configuration file).
 */
import type { Command } from 'commander';
import { AccountStore } from '../accounts/store.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface CliIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export class CliContext {
  private configPromise: Promise<Config> | null = null;
  private store: AccountStore | null = null;

  constructor(readonly io: CliIO) {}

  /** The configuration named by the global --config (given before or after the subcommand). */
  config(cmd: Command): Promise<Config> {
    if (!this.configPromise) {
      const configPath = cmd.optsWithGlobals<{ config?: string }>().config;
      this.configPromise = loadConfig({ configPath, env: this.io.env, cwd: this.io.cwd });
    }
    return this.configPromise;
  }

  async accounts(cmd: Command): Promise<AccountStore> {
    if (!this.store) this.store = new AccountStore((await this.config(cmd)).data);
    return this.store;
  }

  out(line: string): void {
    this.io.stdout.write(`${line}\n`);
  }

  /** Notes for the operator that are not the command's result. */
  note(line: string): void {
    this.io.stderr.write(`mailroom: ${line}\n`);
  }
}

/** Help text shown after a command's options. */
export function examples(...lines: string[]): string {
  return `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
