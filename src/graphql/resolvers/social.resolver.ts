import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { tenantOf, type RequestContext } from '../context';
import { LinkIdentityInput, SignInWithAccessTokenInput, SignInWithIdTokenInput, StartSocialSignInInput } from '../inputs/social.input';
import { AuthPayload } from '../types/auth.type';
import { SocialIdentityType, SocialNonce, SocialRedirect } from '../types/social.type';
import { UserType } from '../types/user.type';
import { bearerOf, countedLogin, signInMeta } from './helpers';

/** Social sign-in and linking (SPEC §4.9); the work is in identity/social. */
@Resolver()
export class SocialResolver {
  @Mutation(() => SocialNonce, { description: 'A single-use, 10-minute nonce to give the provider. Any API key.' })
  async socialNonce(@Arg('provider', () => String) provider: string, @Ctx() ctx: RequestContext): Promise<SocialNonce> {
    return ctx.services.social.nonce(ctx.em, tenantOf(ctx), provider);
  }

  @Mutation(() => AuthPayload, { description: 'Sign in or up with a provider ID token. Any API key. INVALID_ID_TOKEN, LINK_REQUIRED, METHOD_DISABLED.' })
  async signInWithIdToken(@Arg('input', () => SignInWithIdTokenInput) input: SignInWithIdTokenInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await countedLogin(ctx, ctx.services.social.signInWithIdToken(ctx.em, tenant, input, signInMeta(ctx)));
    ctx.revealedUserIds.add(result.user.id);
    return AuthPayload.from(result, tenant.settings);
  }

  @Mutation(() => AuthPayload, { description: 'Sign in or up with a Facebook access token. Any API key.' })
  async signInWithAccessToken(@Arg('input', () => SignInWithAccessTokenInput) input: SignInWithAccessTokenInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await countedLogin(ctx, ctx.services.social.signInWithAccessToken(ctx.em, tenant, input, signInMeta(ctx)));
    ctx.revealedUserIds.add(result.user.id);
    return AuthPayload.from(result, tenant.settings);
  }

  @Mutation(() => SocialRedirect, { description: 'Start the web redirect flow; it ends at redirectUri?lt=… for exchangeLoginTicket. Any API key.' })
  async startSocialSignIn(@Arg('input', () => StartSocialSignInInput) input: StartSocialSignInInput, @Ctx() ctx: RequestContext): Promise<SocialRedirect> {
    return ctx.services.social.startRedirect(ctx.em, tenantOf(ctx), input);
  }

  @Mutation(() => UserType, { description: 'Link a provider account to the signed-in customer. Bearer.' })
  async linkIdentity(@Arg('input', () => LinkIdentityInput) input: LinkIdentityInput, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.social.link(ctx.em, tenant, bearerOf(ctx).userId, input);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => Boolean, { description: 'Unlink a provider; LAST_CREDENTIAL when it is the last way to sign in. Bearer.' })
  async unlinkIdentity(@Arg('provider', () => String) provider: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    await ctx.services.social.unlink(ctx.em, tenantOf(ctx), bearerOf(ctx).userId, provider);
    return true;
  }
}

/** `User.identities`: read only when asked for. */
@Resolver(() => UserType)
export class UserIdentitiesResolver {
  @FieldResolver(() => [SocialIdentityType], { description: 'Provider accounts linked to this customer' })
  async identities(@Root() user: UserType, @Ctx() ctx: RequestContext): Promise<SocialIdentityType[]> {
    return ctx.services.social.identities(ctx.em, tenantOf(ctx), user.id);
  }
}
