import { AppError } from '../../errors';
import type { SignInMeta } from '../../identity/sessions';
import type { Caller, RequestContext } from '../context';

/** What a new session records about the client. */
export function signInMeta(ctx: RequestContext): SignInMeta & { ip: string } {
  return { ip: ctx.ip, userAgent: ctx.userAgent };
}

/** The signed-in user's caller; the shield guarantees it for bearer-only operations. */
export function bearerOf(ctx: RequestContext): Extract<Caller, { kind: 'bearer' }> {
  if (ctx.caller.kind !== 'bearer') throw new AppError('UNAUTHENTICATED');
  return ctx.caller;
}
