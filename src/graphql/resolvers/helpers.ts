import { AppError } from '../../errors';
import { isParticipantScope, type AuthResult, type SignInMeta } from '../../identity/sessions';
import type { BearerCaller } from '../../identity/caller';
import type { RequestContext } from '../context';

/**
 * Counts a sign-in attempt by result (`success`, or the error code) in the metrics, whatever
 * the flow (password, code, login ticket).
 */
export async function countedLogin<T>(ctx: RequestContext, attempt: Promise<T>): Promise<T> {
  try {
    const result = await attempt;
    ctx.services.metrics?.logins.inc({ result: 'success' });
    return result;
  } catch (error) {
    ctx.services.metrics?.logins.inc({ result: error instanceof AppError ? error.code : 'error' });
    throw error;
  }
}

/** What a new session records about the client. */
export function signInMeta(ctx: RequestContext): SignInMeta & { ip: string } {
  return { ip: ctx.ip, userAgent: ctx.userAgent };
}

/** The signed-in user's caller; the shield guarantees it for bearer-only operations. */
export function bearerOf(ctx: RequestContext): BearerCaller {
  if (ctx.caller.kind !== 'bearer') throw new AppError('UNAUTHENTICATED', undefined, { reason: 'missing_credentials' });
  return ctx.caller;
}

/**
 * The payload of a sign-in may show the user's own profile though the caller holds only a key;
 * a participant session's (client-side autologin) shows id, externalId and names only.
 */
export function revealUser(ctx: RequestContext, result: AuthResult): void {
  (isParticipantScope(result.scope) ? ctx.participantUserIds : ctx.revealedUserIds).add(result.user.id);
}
