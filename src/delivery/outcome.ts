/**
 * What one delivery attempt did for one recipient, in the terms an RFC 3464
 * report needs: an RFC 3463 status code and a Diagnostic-Code.
 */
export type DeliveryOutcome =
  | { kind: 'delivered'; status: string; diagnostic?: string; remoteMta?: string }
  /** a temporary failure (4.x.x): try again later */
  | { kind: 'deferred'; status: string; diagnostic: string; remoteMta?: string }
  /** a permanent failure (5.x.x): bounce */
  | { kind: 'failed'; status: string; diagnostic: string; remoteMta?: string };

export const delivered = (diagnostic?: string, remoteMta?: string): DeliveryOutcome => ({
  kind: 'delivered',
  status: '2.0.0',
  ...(diagnostic !== undefined ? { diagnostic } : {}),
  ...(remoteMta !== undefined ? { remoteMta } : {}),
});

export const deferred = (status: string, text: string, remoteMta?: string): DeliveryOutcome => ({
  kind: 'deferred',
  status,
  diagnostic: text,
  ...(remoteMta !== undefined ? { remoteMta } : {}),
});

export const failed = (status: string, text: string, remoteMta?: string): DeliveryOutcome => ({
  kind: 'failed',
  status,
  diagnostic: text,
  ...(remoteMta !== undefined ? { remoteMta } : {}),
});
