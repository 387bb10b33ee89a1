import type { GraphQLResolveInfo } from 'graphql';
import { DEFAULT_APP_SETTINGS } from '../config/app-settings';
import type { RequestContext } from './context';

type Resolve = (parent: unknown, args: unknown, ctx: RequestContext, info: GraphQLResolveInfo) => unknown;

/**
 * Counts every executed operation field (an aliased field counts once per alias) against the
 * caller's per-IP, per-operation, per-minute budget. Runs inside the shield, so refused calls
 * spend nothing. A call with no app yet (client-side autologin) counts under the defaults.
 */
async function limitCall(resolve: Resolve, parent: unknown, args: unknown, ctx: RequestContext, info: GraphQLResolveInfo) {
  const { caller } = ctx;
  const hasApp = caller.kind === 'publishable' || caller.kind === 'secret' || caller.kind === 'bearer';
  const appId = hasApp ? caller.app.id : '-';
  const perMinute = hasApp ? caller.settings.ipRateLimitPerMinute : DEFAULT_APP_SETTINGS.ipRateLimitPerMinute;
  await ctx.services.callLimits.take(appId, info.fieldName, ctx.ip, perMinute);
  return resolve(parent, args, ctx, info);
}

export const callLimitMiddleware = { Query: limitCall, Mutation: limitCall };
