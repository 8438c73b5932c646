/**
 * `http://user:password@host/`: a feed may need credentials, but the URL is also a key in the
 * state record, a line in the transaction log, part of the backup record and of every message
 * naming the feed, files that outlive the run and travel (support bundles, fleet logs). The one
 * place userinfo is taken out of a URL before it is stored or printed; the credentials stay only in
 * the URL the request is made with. No imports: the installer reaches it without loading the feed
 * code.
 */

/** `scheme://userinfo@` (the authority ends at the first `/`, `?`, `#` or `\`), and `http:`/`https:` written with any number of slashes, which URL parsers accept too */
const USERINFO = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/|https?:[/\\]*)[^/?#\\]*@/i;

/** `url` (a URL, or what a user typed: a URL, a folder, anything) without its userinfo. */
export function withoutUserinfo(url: string | URL): string {
  if (typeof url !== 'string') {
    if (url.username === '' && url.password === '') return url.href;
    const copy = new URL(url.href);
    copy.username = '';
    copy.password = '';
    return copy.href;
  }
  return url.replace(USERINFO, '$1');
}
