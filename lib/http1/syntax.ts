/** The HTTP grammar both directions check against (RFC 9110 5.5, 5.6.2), in one place. */

/** One token character (tchar). */
export const TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]";

/** A token: a field name, a method, a transfer coding, a chunk-extension name. */
export const TOKEN = new RegExp(`^${TCHAR}+$`);

/** Any character a field value or reason phrase may not hold: all but VCHAR, obs-text, SP and HTAB. */
export const INVALID_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
