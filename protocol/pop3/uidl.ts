/**
 * UIDL values (RFC 1939 section 7: 1-70 characters in 0x21-0x7E, unique and
 * stable for the life of the message).
 *
 * We derive them from the IMAP UIDVALIDITY and UID exactly as Dovecot's
 * default `pop3_uidl_format = %08Xu%08Xv` does: the UID then the UIDVALIDITY,
 * each as at least 8 lower-case hex digits (Dovecot's %X modifier prints with
 * "%llx"). Why this and not the Maildir file name:
 *  - the pair is what identifies a message in IMAP too, so POP3 and IMAP agree,
 *    and it never changes while the message exists (flag changes rename the
 *    file, but keep its UID);
 *  - a user migrating from Dovecot keeps their UIDLs (we import
 *    dovecot-uidlist's UIDs and UIDVALIDITY), so POP3 clients that "leave mail
 *    on server" do not download everything again;
 *  - it is short and fixed-length, cheap to list for 100,000 messages.
 * If the folder is re-created (new UIDVALIDITY) the UIDLs change, which is
 * right: they are different messages as far as any client can know.
 */
export function uidl(uidValidity: number, uid: number): string {
  return hex8(uid) + hex8(uidValidity);
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}
