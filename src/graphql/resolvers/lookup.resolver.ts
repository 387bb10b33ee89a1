import { Arg, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { encodeCursor } from '../../identity/users';
import { tenantOf, type RequestContext } from '../context';
import { UserFilter } from '../inputs/profile.input';
import { IdentityCheck, UserConnection } from '../types/lookup.type';
import { UserType } from '../types/user.type';

@Resolver()
export class LookupResolver {
  @Query(() => IdentityCheck, { description: 'Does this email have an account? (SessionM step 1) Any API key.' })
  async checkEmail(@Arg('email', () => String) email: string, @Ctx() ctx: RequestContext): Promise<IdentityCheck> {
    return ctx.services.users.checkEmail(ctx.reader, tenantOf(ctx), email);
  }

  @Query(() => IdentityCheck, { description: 'Does this phone number have an account? Any API key.' })
  async checkPhoneNumber(
    @Arg('phoneNumber', () => String) phoneNumber: string,
    @Arg('countryCode', () => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3, when phoneNumber is national' }) countryCode: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<IdentityCheck> {
    return ctx.services.users.checkPhoneNumber(ctx.reader, tenantOf(ctx), phoneNumber, countryCode);
  }

  @Query(() => UserType, { nullable: true, description: 'One user by exactly one key; null when not found. Secret key.' })
  async user(
    @Arg('id', () => ID, { nullable: true }) id: string | null,
    @Arg('externalId', () => String, { nullable: true }) externalId: string | null,
    @Arg('email', () => String, { nullable: true }) email: string | null,
    @Arg('phoneNumber', () => String, { nullable: true }) phoneNumber: string | null,
    @Arg('countryCode', () => String, { nullable: true }) countryCode: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<UserType | null> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.users.view(ctx.reader, tenant, { id, externalId, email, phoneNumber, countryCode });
    return user && UserType.from(user, tenant.settings);
  }

  @Query(() => UserConnection, { description: 'Search users; cursor paging, first 1–100. Secret key.' })
  async users(
    @Arg('filter', () => UserFilter) filter: UserFilter,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<UserConnection> {
    const tenant = tenantOf(ctx);
    const page = await ctx.services.users.list(ctx.em, tenant, filter, first ?? 20, after);
    const edges = page.users.map((user) => ({ cursor: encodeCursor(user.id), node: UserType.from(user, tenant.settings) }));
    return {
      edges,
      pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      totalCount: page.totalCount,
    };
  }
}
