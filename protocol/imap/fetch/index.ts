/** FETCH rendering (RFC 3501 6.4.5, 7.4.2): what the IMAP session calls. */
export { writeFetchResponses, FetchAbortError, type FetchOutput, type FetchResult } from './write-fetch.js';
export { formatFlags, formatInternalDate } from './attributes.js';
export { renderEnvelope } from './envelope.js';
export { renderBodyStructure } from './bodystructure.js';
