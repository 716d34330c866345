import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'mailroom-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sampleMessage = (subject: string, body = 'Hello there.\n') =>
  Buffer.from(`From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\nSubject: ${subject}\nDate: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <${subject.replace(/\W/g, '')}@example.org>\n\n${body}`);
