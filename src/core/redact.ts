/**
 * The userinfo of a URL (`scheme://user:password@host`, `//user@host`): from `//` to the last `@`
 * before whitespace or the end of the authority (`/`, `?`, `#`). Quotes and backslashes are part
 * of the match on purpose, so a password holding an escaped quote inside JSON text is still
 * covered; the price is that a few neighbouring characters may be hidden too, never a secret shown.
 */
const URL_USERINFO = /\/\/[^\s/?#]*@/g;

/**
 * Replaces the credentials of every URL in `text` (anywhere, also inside JSON text or a
 * comma-separated list) with `***`: `http://root:pw@h:2379` becomes `http://***@h:2379`,
 * `//user@h` becomes `//***@h`. Text without credentials is returned unchanged. Use it on any
 * user-supplied value a message quotes, since configuration errors end up in crash logs and CI
 * output.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(URL_USERINFO, '//***@');
}
