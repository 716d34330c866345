/**
 * Exit codes and the one error type the command line turns into an exit.
 *
 * The codes are those of BSD's <sysexits.h>, which mail software has used since
 * sendmail and qmail (a delivery agent exiting 75 means "try again later" to
 * every MTA), so scripts written for those tools read ours the same way.
 */
export const EX = {
  OK: 0,
  USAGE: 64, // the command was used incorrectly
  DATAERR: 65, // input data was incorrect (a damaged accounts file)
  NOUSER: 67, // no such user or domain
  UNAVAILABLE: 69, // a service is unavailable
  SOFTWARE: 70, // internal error
  CANTCREAT: 73, // cannot create (already exists, cannot write)
  IOERR: 74, // input/output error
  TEMPFAIL: 75, // temporary failure, try again
  CONFIG: 78, // configuration error
} as const;

export type ExitCode = (typeof EX)[keyof typeof EX];

/**
 * An error meant for a person: `message` is one line, complete on its own
 * (it names the file, key or address concerned), printed as is on stderr.
 */
export class MailroomError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MailroomError';
    this.exitCode = exitCode;
  }
}

/** A problem in mailroom.yaml (or the files it names). Always EX_CONFIG. */
export class ConfigError extends MailroomError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(EX.CONFIG, message, options);
    this.name = 'ConfigError';
  }
}

export type AccountErrorCode =
  | 'BADADDRESS' // not a valid address, domain or local part (EX_USAGE)
  | 'NODOMAIN' // the domain is not one of ours (EX_NOUSER)
  | 'NOUSER' // no such user or alias (EX_NOUSER)
  | 'EXISTS' // already exists (EX_CANTCREAT)
  | 'NOTEMPTY' // domain still has users or aliases (EX_CANTCREAT)
  | 'CANTCREATE' // the Maildir or a file could not be created (EX_CANTCREAT)
  | 'BUSY' // the accounts lock could not be taken in time (EX_TEMPFAIL)
  | 'DAMAGED'; // an accounts file is not what we wrote (EX_DATAERR)

const accountExit: Record<AccountErrorCode, ExitCode> = {
  BADADDRESS: EX.USAGE,
  NODOMAIN: EX.NOUSER,
  NOUSER: EX.NOUSER,
  EXISTS: EX.CANTCREAT,
  NOTEMPTY: EX.CANTCREAT,
  CANTCREATE: EX.CANTCREAT,
  BUSY: EX.TEMPFAIL,
  DAMAGED: EX.DATAERR,
};

export class AccountError extends MailroomError {
  readonly code: AccountErrorCode;
  constructor(code: AccountErrorCode, message: string, options?: { cause?: unknown }) {
    super(accountExit[code], message, options);
    this.name = 'AccountError';
    this.code = code;
  }
}

export function isAccountError(e: unknown, code?: AccountErrorCode): e is AccountError {
  return e instanceof AccountError && (code === undefined || e.code === code);
}
