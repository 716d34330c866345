import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../maildir/errors.js';
import { EX, MailroomError } from '../errors.js';

/** The data directory must exist (it is created) and be writable: every listener writes there. */
export async function checkDataDir(dir: string): Promise<void> {
  const probe = join(dir, `.write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(probe, '');
    await unlink(probe);
  } catch (e) {
    throw new MailroomError(EX.CANTCREAT, `the data directory ${dir} is not writable (${errnoCode(e) ?? String(e)})`, { cause: e });
  }
}
