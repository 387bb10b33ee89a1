/**
 * Response headers for what the gateway serves to browsers (the playground page and its
 * assets, the password-reset page). The API's JSON answers need none of this; an HTML page that holds a partner's
 * secret key in its headers editor does.
 */

/**
 * The playground's Content-Security-Policy. Scripts come only from our own origin (the page
 * has no inline script: its start-up code is /playground/app.js). Styles also allow
 * 'unsafe-inline' because GraphiQL's editor (CodeMirror) and its UI inject <style> elements
 * at run time; inline styles cannot run code. Fonts and icons in GraphiQL's CSS are data:
 * URIs. No other host is named anywhere, so the page works with no internet.
 */
export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every browser-facing response gets: no MIME sniffing, no framing, no referrer. */
const COMMON: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** For the playground HTML: the CSP above, and never cached (it is small and may change). */
export function htmlSecurityHeaders(): Record<string, string> {
  return { ...COMMON, 'content-security-policy': PLAYGROUND_CSP, 'cache-control': 'no-store' };
}

/**
 * For the password-reset page (reset-page.ts), stricter than the playground: no script at
 * all, its one inline style admitted by hash, and its form may post only back to us. Never
 * cached and never sent on as a referrer: the page's URL holds the reset token.
 */
export function resetPageSecurityHeaders(styleHash: string): Record<string, string> {
  const csp = [
    "default-src 'none'",
    `style-src '${styleHash}'`,
    "img-src data:",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { ...COMMON, 'content-security-policy': csp, 'cache-control': 'no-store', pragma: 'no-cache' };
}

/** For the static scripts and styles the page loads from us. */
export function assetSecurityHeaders(): Record<string, string> {
  return { ...COMMON, 'cache-control': 'public, max-age=3600' };
}
