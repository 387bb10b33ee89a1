import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { AppError } from '../../errors';
import { tenantOf, type RequestContext } from '../context';
import { LoginInput } from '../inputs/auth.input';
import { AuthPayload } from '../types/auth.type';
import { bearerOf, countedLogin, signInMeta } from './helpers';

@Resolver()
export class SessionResolver {
  @Mutation(() => AuthPayload, { description: 'Email or phone + password. Wrong email or password: INVALID_CREDENTIALS.' })
  async login(@Arg('input', () => LoginInput) input: LoginInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await countedLogin(ctx, ctx.services.login.login(ctx.em, tenant, input, { ...signInMeta(ctx), scope: input.scope }));
    ctx.revealedUserIds.add(result.user.id);
    return AuthPayload.from(result, tenant.settings);
  }

  @Mutation(() => AuthPayload, { description: 'Rotates the refresh token. A rotated token presented again revokes the session.' })
  async refresh(@Arg('refreshToken', () => String) refreshToken: string, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await ctx.services.sessions.refresh(ctx.em, tenant, refreshToken, signInMeta(ctx));
    ctx.revealedUserIds.add(result.user.id);
    return AuthPayload.from(result, tenant.settings);
  }

  @Mutation(() => Boolean, { description: 'Ends this session, or all of the user’s sessions. Bearer.' })
  async logout(@Arg('allSessions', () => Boolean, { nullable: true, defaultValue: false }) allSessions: boolean | null, @Ctx() ctx: RequestContext): Promise<boolean> {
    const bearer = bearerOf(ctx);
    if (bearer.participant && allSessions) {
      // A forged-origin participant session must not sign the real customer out everywhere.
      throw new AppError('FORBIDDEN', 'A participant session (client-side autologin) can end only itself', { field: 'allSessions' });
    }
    await ctx.services.sessions.logout(ctx.em, bearer.userId, bearer.sessionId, allSessions ?? false);
    return true;
  }
}
