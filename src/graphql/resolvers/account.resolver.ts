import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { tenantOf, type RequestContext } from '../context';
import { AutologinInput, LegalAgreementInput, RequestPasswordResetInput, ResetPasswordInput } from '../inputs/account.input';
import { AutologinResult, LegalAgreementAcceptance, PasswordResetRequest } from '../types/account.type';
import { AuthPayload } from '../types/auth.type';
import { bearerOf, countedLogin, revealUser, signInMeta } from './helpers';

/** Password reset, autologin tickets and legal acceptance (SPEC §4.5, §4.7, §4.8). */
@Resolver()
export class AccountResolver {
  @Mutation(() => PasswordResetRequest, { description: 'Start a password reset. Any key; sendEmail: false needs a secret key.' })
  async requestPasswordReset(@Arg('input', () => RequestPasswordResetInput) input: RequestPasswordResetInput, @Ctx() ctx: RequestContext): Promise<PasswordResetRequest> {
    return ctx.services.passwordReset.request(ctx.em, tenantOf(ctx), ctx.caller.kind === 'secret', input);
  }

  @Mutation(() => Boolean, { description: 'Set a new password with the verification string; every session ends.' })
  async resetPassword(@Arg('input', () => ResetPasswordInput) input: ResetPasswordInput, @Ctx() ctx: RequestContext): Promise<boolean> {
    await ctx.services.passwordReset.reset(ctx.em, tenantOf(ctx), input.token, input.password);
    return true;
  }

  @Mutation(() => AutologinResult, { description: 'Find or create a customer by externalId and issue a login ticket. Secret key, or no credentials from an allowed origin.' })
  async autologin(@Arg('input', () => AutologinInput) input: AutologinInput, @Ctx() ctx: RequestContext): Promise<AutologinResult> {
    // The shield lets through a secret key or no credentials at all (the client-side path).
    const clientSide = ctx.caller.kind !== 'secret';
    const tenant = clientSide ? await ctx.services.autologin.tenantForOrigin(ctx.em, input.appId, ctx.origin) : tenantOf(ctx);
    return ctx.services.autologin.autologin(ctx.em, tenant, input, { participant: clientSide });
  }

  @Mutation(() => AuthPayload, { description: 'Turn a login ticket (autologin, social redirect) into a session (once, within 5 minutes).' })
  async exchangeLoginTicket(
    @Arg('lt', () => String) lt: string,
    @Arg('codeVerifier', () => String, { nullable: true, description: 'Social redirect started with a codeChallenge: its PKCE verifier' }) codeVerifier: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await countedLogin(ctx, ctx.services.autologin.exchange(ctx.em, tenant, lt, signInMeta(ctx), codeVerifier));
    revealUser(ctx, result);
    return AuthPayload.from(result, tenant.settings);
  }

  @Mutation(() => LegalAgreementAcceptance, { description: 'Record acceptance of legal documents. Bearer.' })
  async acceptLegalAgreement(@Arg('input', () => LegalAgreementInput) input: LegalAgreementInput, @Ctx() ctx: RequestContext): Promise<LegalAgreementAcceptance> {
    const acceptance = await ctx.services.legal.accept(ctx.em, tenantOf(ctx), bearerOf(ctx).userId, input);
    return { id: acceptance.id, deviceUuid: acceptance.deviceUuid, documents: acceptance.documents, acceptedAt: acceptance.acceptedAt };
  }
}
