import { Arg, Ctx, ID, Mutation, Resolver } from 'type-graphql';
import { tenantOf, type RequestContext } from '../context';
import { ImportUserInput } from '../inputs/auth.input';
import { CreateUserInput, ProfileInput } from '../inputs/profile.input';
import { ImportResult } from '../types/auth.type';
import { UserType } from '../types/user.type';

/** Back-office profile management for partner servers (secret key). */
@Resolver()
export class UsersResolver {
  @Mutation(() => UserType, { description: 'Create a contact, possibly without credentials. Secret key.' })
  async createUser(@Arg('input', () => CreateUserInput) input: CreateUserInput, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.users.create(ctx.em, tenant, input);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => UserType, { description: 'Update a profile. Secret key.' })
  async updateUser(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => ProfileInput) input: ProfileInput,
    @Ctx() ctx: RequestContext,
  ): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.users.requireById(ctx.em, tenant, id);
    await ctx.services.users.update(ctx.em, tenant, user, input);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => ImportResult, { description: 'Bulk import (≤ 1,000 rows) with existing password hashes. Secret key.' })
  async importUsers(@Arg('input', () => [ImportUserInput]) input: ImportUserInput[], @Ctx() ctx: RequestContext): Promise<ImportResult> {
    const outcome = await ctx.services.credentials.importUsers(ctx.em, tenantOf(ctx), input);
    return { imported: outcome.imported, failed: outcome.failed.map((f) => ({ ...f, field: f.field ?? null })) };
  }
}
