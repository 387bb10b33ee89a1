import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { assertNoPartnerKeyFields } from '../../identity/profile';
import { tenantOf, type RequestContext } from '../context';
import { ProfileInput } from '../inputs/profile.input';
import { UserType } from '../types/user.type';
import { bearerOf } from './helpers';

/** The signed-in customer's own account (bearer token). */
@Resolver()
export class ProfileResolver {
  @Query(() => UserType, { description: 'The signed-in user. Bearer.' })
  async me(@Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.users.viewById(ctx.reader, tenant, bearerOf(ctx).userId);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => UserType, { description: 'Update your own profile. Bearer. externalId and externalIdType are for partners (secret key: updateUser).' })
  async updateProfile(@Arg('input', () => ProfileInput) input: ProfileInput, @Ctx() ctx: RequestContext): Promise<UserType> {
    assertNoPartnerKeyFields(input, 'update');
    const tenant = tenantOf(ctx);
    const user = await ctx.services.users.requireById(ctx.em, tenant, bearerOf(ctx).userId);
    await ctx.services.users.update(ctx.em, tenant, user, input);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => Boolean, { description: 'Change your password; other sessions are signed out. Bearer.' })
  async changePassword(
    @Arg('currentPassword', () => String, { nullable: true, description: 'Not needed when the account has no password yet' }) currentPassword: string | null,
    @Arg('newPassword', () => String) newPassword: string,
    @Ctx() ctx: RequestContext,
  ): Promise<boolean> {
    const bearer = bearerOf(ctx);
    await ctx.services.credentials.changePassword(ctx.em, tenantOf(ctx), bearer.userId, bearer.sessionId, currentPassword, newPassword);
    return true;
  }
}
