import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_APP_SETTINGS } from '../config/app-settings';
import { AppError, ERROR_CODES, badInput, type ErrorCode } from '../errors';
import { policyRequirements, type PasswordRule } from '../identity/passwords/policy';
import type { Tenant } from '../identity/users';
import type { Services } from '../services';
import { readBody, type RequestInfo } from './http-util';
import type { RouteHandler } from './http';
import { resetPageSecurityHeaders } from './security-headers';

/**
 * The gateway's own password-reset page, `GET /reset-password?token=…`: the link every app
 * without a `resetPasswordUrl` mails (identity/password-reset.ts), in development and in
 * production alike. One small HTML page with no script and no asset: the form posts back to
 * `POST /reset-password`, which calls the same PasswordResetService.reset as the
 * resetPassword mutation.
 *
 * The browser holds only the token, no API key, so the token finds its app
 * (PasswordResetService.tenantOfToken). The POST counts against the per-IP budget of the
 * resetPassword operation, under the token's app (one counter whichever door is used); an
 * unknown token counts under no app with the default budget, as a credential-less GraphQL
 * call does, so guessing is limited too. The GET only looks the token up to show the app's
 * brand and password rules (or that the link is dead) and counts nothing: email scanners and
 * reloads open links, and with apps allowed a budget of 1 call a minute, counting the GET
 * would refuse the very POST that follows it.
 *
 * The token is in the page's URL, so the answers are `no-store` and `no-referrer`, the POST
 * goes to the path without the query (the success page's URL has no token), and the request
 * log shows the path only (server/http.ts).
 */

const STYLE = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; padding: 2rem 1rem; background: Canvas; color: CanvasText; }
main { max-width: 26rem; margin: 0 auto; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input[type=password] { box-sizing: border-box; width: 100%; font: inherit; padding: .5rem; margin-top: .25rem; }
button { font: inherit; margin-top: 1.25rem; padding: .5rem 1.25rem; cursor: pointer; }
.rules { margin: .25rem 0 0; padding-left: 1.25rem; }
.rules .failed { color: #b00020; font-weight: 600; }
.rules .failed::marker { content: "✗  "; }
.message { padding: .75rem 1rem; border-radius: .25rem; border: 1px solid; }
.message.error { border-color: #b00020; background: #b000201a; }
.message.done { border-color: #1b7f3b; background: #1b7f3b1a; }
.code { display: block; font-size: .8rem; opacity: .75; font-family: ui-monospace, monospace; }
`;
const STYLE_HASH = `sha256-${createHash('sha256').update(STYLE).digest('base64')}`;

/** What the page says for each code a reset can end with (the code is shown too, for support). */
const MESSAGES: Partial<Record<ErrorCode, string>> = {
  INVALID_RESET_TOKEN:
    'This reset link does not work any more: it was used already, a newer link replaced it, or it expired (a link works once, for an hour). Ask the app for a new one.',
  ACCOUNT_SUSPENDED: 'This account is suspended, so its password cannot be changed now. The link stays valid until it expires.',
  TOO_MANY_ATTEMPTS: 'Too many attempts from your network.',
};

const STATUS: Partial<Record<ErrorCode, number>> = { ACCOUNT_SUSPENDED: 403, TOO_MANY_ATTEMPTS: 429, INTERNAL: 500 };

interface View {
  status: number;
  title: string;
  /** A message box, with the SPEC §5 code it stands for (none for success). */
  message?: { text: string; code?: string; kind: 'error' | 'done' };
  /** The form, when the token is live: the app's brand and rules, failed rules marked. */
  form?: { token: string; tenant: Tenant; failed: PasswordRule[] };
  headers?: Record<string, string>;
}

export function resetPageRoutes(services: Services): Record<string, RouteHandler> {
  const { passwordReset, callLimits, logger, config } = services;

  async function show(_req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    const token = new URLSearchParams(info.search).get('token') ?? '';
    const tenant = token ? await passwordReset.tenantOfToken(services.orm.em.fork(), token) : null;
    if (!tenant) return render(res, failure(new AppError('INVALID_RESET_TOKEN')));
    render(res, { status: 200, title: 'Choose a new password', form: { token, tenant, failed: [] } });
  }

  async function submit(req: IncomingMessage, res: ServerResponse, info: RequestInfo): Promise<void> {
    let token = '';
    let tenant: Tenant | null = null;
    try {
      const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const text = await readBody(req, config.bodyLimitBytes);
      if (type !== 'application/x-www-form-urlencoded') throw badInput('body', 'Send the form (application/x-www-form-urlencoded)');
      const form = new URLSearchParams(text);
      token = form.get('token') ?? '';
      const password = form.get('password') ?? '';
      const em = services.orm.em.fork();
      tenant = token ? await passwordReset.tenantOfToken(em, token) : null;
      await callLimits.take(tenant?.app.id ?? '-', 'resetPassword', info.ip, (tenant?.settings ?? DEFAULT_APP_SETTINGS).ipRateLimitPerMinute);
      if (!tenant) throw new AppError('INVALID_RESET_TOKEN', undefined, { field: 'token' });
      // Without script the typed password is never seen: a typo here would lock the customer out.
      if (form.has('confirm') && form.get('confirm') !== password) {
        throw badInput('confirm', 'The two passwords are not the same; type the new password twice.');
      }
      await passwordReset.reset(em, tenant, token, password);
      render(res, {
        status: 200,
        title: 'Password changed',
        message: {
          kind: 'done',
          text: `Your ${tenant.settings.brandName} password has been changed, and every device that was signed in has been signed out. Sign in again with the new password.`,
        },
      });
    } catch (error) {
      if (!(error instanceof AppError)) {
        // The error, never the form: the body holds the token and the password.
        logger.error({ requestId: info.requestId, path: info.path, err: error }, 'reset page failed');
        return render(res, failure(new AppError('INTERNAL', `${ERROR_CODES.INTERNAL} (request id ${info.requestId}); try again later.`)));
      }
      const view = failure(error);
      // A wrong password (weak, or not typed twice the same) keeps the form, its failed rules marked.
      if ((error.code === 'WEAK_PASSWORD' || error.code === 'BAD_USER_INPUT') && tenant) {
        view.form = { token, tenant, failed: Array.isArray(error.extensions.rules) ? (error.extensions.rules as PasswordRule[]) : [] };
        view.title = 'Choose a new password';
      }
      render(res, view);
    }
  }

  return { 'GET /reset-password': show, 'POST /reset-password': submit };
}

function failure(error: AppError): View {
  const retryAfter = typeof error.extensions.retryAfter === 'number' ? error.extensions.retryAfter : null;
  let text = MESSAGES[error.code] ?? error.message;
  if (retryAfter !== null) text += ` Try again in ${retryAfter} s.`;
  return {
    status: STATUS[error.code] ?? 400,
    title: error.code === 'INVALID_RESET_TOKEN' ? 'This reset link does not work' : 'Password not changed',
    message: { kind: 'error', text, code: error.code },
    headers: retryAfter !== null ? { 'retry-after': String(retryAfter) } : {},
  };
}

function render(res: ServerResponse, view: View): void {
  const parts: string[] = [`<h1>${escapeHtml(view.title)}</h1>`];
  if (view.form) parts.push(`<p>For your ${escapeHtml(view.form.tenant.settings.brandName)} account.</p>`);
  if (view.message) {
    const { kind, text, code } = view.message;
    const codeAttr = code ? ` data-code="${escapeHtml(code)}"` : '';
    const codeLine = code ? `<span class="code">${escapeHtml(code)}</span>` : '';
    parts.push(`<p class="message ${kind}" role="${kind === 'error' ? 'alert' : 'status'}"${codeAttr}>${escapeHtml(text)}${codeLine}</p>`);
  }
  if (view.form) parts.push(formHtml(view.form));
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(view.title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<main>
${parts.join('\n')}
</main>
</body>
</html>
`;
  res.writeHead(view.status, {
    ...resetPageSecurityHeaders(STYLE_HASH),
    ...view.headers,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function formHtml(form: NonNullable<View['form']>): string {
  const rules = policyRequirements(form.tenant.settings.passwordPolicy)
    .map((r) => {
      const failed = r.rules.some((rule) => form.failed.includes(rule));
      return `<li data-rules="${r.rules.join(' ')}"${failed ? ' class="failed"' : ''}>${escapeHtml(r.text)}</li>`;
    })
    .join('');
  // A relative action: the path without the token's query, and right behind a path-prefix proxy.
  return `<form method="post" action="reset-password">
<input type="hidden" name="token" value="${escapeHtml(form.token)}">
<label for="password">New password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required autofocus>
<label for="confirm">The new password again</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required>
<p id="rules">It needs:</p>
<ul class="rules" aria-labelledby="rules">${rules}</ul>
<button type="submit">Set the new password</button>
</form>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
