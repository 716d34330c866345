/**
 * APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID, RFC 7889 APPENDLIMIT). The
 * message is streamed into storage while it arrives (append-upload.ts); the
 * command event, after the final CRLF, is what lets storage commit it.
 */
import type { AppendHeader } from '../commands.js';
import { isAllowedIn } from '../command-table.js';
import { AppendUpload } from './append-upload.js';
import type { SessionCore } from './core.js';
import type { Handler } from './handler.js';
import { bad } from './response.js';

/** the reader announced a message literal: start storing it if the command may run at all */
export function beginAppend(core: SessionCore, header: AppendHeader): void {
  core.upload?.abort();
  core.upload = null;
  // refused commands get their BAD when the command event arrives; their bytes are dropped
  if (core.user === null || !isAllowedIn('APPEND', core.state)) return;
  core.upload = new AppendUpload(core.user, header, header.date ?? core.ctx.now?.());
}

export const append: Handler<{ name: 'APPEND'; size: number } & AppendHeader> = async (core) => {
  const upload = core.upload;
  core.upload = null;
  if (upload === null) throw bad('APPEND without its message');
  upload.finish();
  const r = await upload.result;
  return { code: `APPENDUID ${r.uidValidity} ${r.uid}`, text: 'Append completed' };
};
