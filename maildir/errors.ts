/**
 * Typed storage errors. The protocol layers map `code` onto their own wire
 * replies (IMAP response codes, POP3 -ERR, SMTP enhanced status codes) in one
 * place each; storage never formats protocol text (DESIGN.md, layer rule 2).
 */
export type StoreErrorCode =
  | 'NONEXISTENT' // mailbox or message does not exist
  | 'ALREADYEXISTS' // mailbox already exists
  | 'BADNAME' // mailbox name refused (escapes the root, control characters, '.')
  | 'CANNOT' // operation not possible (delete INBOX, rename onto itself…)
  | 'OVERQUOTA' // quota exceeded
  | 'LIMIT' // a configured bound was hit (26 keywords per folder, nesting…)
  | 'INUSE' // resource locked by someone else
  | 'EXPUNGED' // message vanished underneath us
  | 'READONLY' // write on a read-only mailbox handle
  | 'SERVERBUG'; // unexpected state on disk

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}

/** Node's fs errors carry a string `code`; this narrows without casts at call sites. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}
