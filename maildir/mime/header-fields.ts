/**
 * Splits a raw header block into fields. Values stay raw (latin1 strings, so
 * `Buffer.from(v, 'latin1')` returns the original bytes) and are unfolded as
 * RFC 5322 2.2.3 says: a line break followed by WSP is removed, the WSP kept.
 */
export interface HeaderField {
  /** lower-cased field name */
  name: string;
  /** unfolded raw value, leading and trailing whitespace removed */
  value: string;
}

export function parseHeaderFields(block: Buffer): HeaderField[] {
  const text = block.toString('latin1');
  const fields: HeaderField[] = [];
  let current: string | null = null;
  const flush = (): void => {
    if (current === null) return;
    const colon = current.indexOf(':');
    // A line without a colon is not a field (garbage or an mbox "From " line): skip it.
    if (colon > 0) {
      const name = current.slice(0, colon).replace(/[ \t]+$/, '').toLowerCase();
      if (name.length > 0 && !/[\s]/.test(name)) {
        fields.push({ name, value: current.slice(colon + 1).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '') });
      }
    }
    current = null;
  };
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.length === 0) continue;
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && current !== null) {
      current += line; // unfolding: drop the line break, keep the WSP
    } else {
      flush();
      current = line;
    }
  }
  flush();
  return fields;
}

/** The first field of that (lower-case) name, or null. */
export function firstField(fields: readonly HeaderField[], name: string): string | null {
  for (const f of fields) if (f.name === name) return f.value;
  return null;
}
