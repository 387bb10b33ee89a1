import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { encodeEventCursor } from '../../identity/events';
import { tenantOf, type RequestContext } from '../context';
import { SecurityEventFilter, UserContactInput } from '../inputs/lifecycle.input';
import { ContactChangeRequest, SecurityEventConnection, SecurityEventType, SessionType } from '../types/lifecycle.type';
import { UserType } from '../types/user.type';
import { bearerOf } from './helpers';

/** Account lifecycle (SPEC §4.10): the customer's own (bearer) and the partner's (secret key). */
@Resolver()
export class LifecycleResolver {
  @Mutation(() => ContactChangeRequest, { description: 'Send a code to a new email; confirmContactChange(code) applies it. The current email is told. Bearer.' })
  async requestEmailChange(@Arg('newEmail', () => String) newEmail: string, @Ctx() ctx: RequestContext): Promise<ContactChangeRequest> {
    const outcome = await ctx.services.lifecycle.contacts.request(ctx.em, tenantOf(ctx), bearerOf(ctx).userId, { kind: 'email', newEmail });
    return ContactChangeRequest.from(outcome);
  }

  @Mutation(() => ContactChangeRequest, { description: 'Send a code to a new phone number; confirmContactChange(code) applies it. The current number is told. Bearer.' })
  async requestPhoneChange(
    @Arg('newPhoneNumber', () => String) newPhoneNumber: string,
    @Arg('countryCode', () => String, { nullable: true, description: 'ISO 3166 alpha-2 or alpha-3, when newPhoneNumber is national' }) countryCode: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<ContactChangeRequest> {
    const outcome = await ctx.services.lifecycle.contacts.request(ctx.em, tenantOf(ctx), bearerOf(ctx).userId, { kind: 'phone', newPhoneNumber, countryCode });
    return ContactChangeRequest.from(outcome);
  }

  @Mutation(() => UserType, { description: 'Apply the waiting email or phone change with the code sent to the new address; it becomes verified. Bearer.' })
  async confirmContactChange(@Arg('code', () => String) code: string, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.lifecycle.contacts.confirm(ctx.em, tenant, bearerOf(ctx).userId, code, ctx.ip);
    return UserType.from(user, tenant.settings);
  }

  @Query(() => [SessionType], { description: 'Your live sessions, newest first. Bearer.' })
  async sessions(@Ctx() ctx: RequestContext): Promise<SessionType[]> {
    const bearer = bearerOf(ctx);
    const sessions = await ctx.services.lifecycle.accounts.liveSessions(ctx.em, bearer.userId);
    return sessions.map((s) => SessionType.from(s, bearer.sessionId));
  }

  @Mutation(() => Boolean, { description: 'End one of your sessions at once. Bearer.' })
  async revokeSession(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    await ctx.services.lifecycle.accounts.revokeSession(ctx.em, bearerOf(ctx).userId, id);
    return true;
  }

  @Mutation(() => Boolean, { description: 'Erase your account, proving it is you again: your password, or a code from requestOtp (VERIFY). Bearer.' })
  async deleteAccount(
    @Arg('password', () => String, { nullable: true }) password: string | null,
    @Arg('code', () => String, { nullable: true }) code: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<boolean> {
    await ctx.services.lifecycle.accounts.deleteOwn(ctx.em, tenantOf(ctx), bearerOf(ctx).userId, { password, code });
    return true;
  }

  @Mutation(() => UserType, { description: 'Suspend a customer: every session ends at once; sign-ins, refresh and bearer requests answer ACCOUNT_SUSPENDED. Secret key.' })
  async suspendUser(@Arg('id', () => ID) id: string, @Arg('reason', () => String) reason: string, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.lifecycle.accounts.suspend(ctx.em, tenant, id, reason, { by: 'partner', ip: ctx.ip });
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => UserType, { description: 'Lift a suspension: sign-ins work again. Secret key.' })
  async reinstateUser(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.lifecycle.accounts.reinstate(ctx.em, tenant, id, { by: 'partner', ip: ctx.ip });
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => Boolean, { description: 'End every session of a customer at once. Secret key.' })
  async revokeUserSessions(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    await ctx.services.lifecycle.accounts.revokeAllSessions(ctx.em, tenantOf(ctx), id);
    return true;
  }

  @Mutation(() => UserType, { description: 'Back-office correction of email and/or phone, verified or not; no code is sent. Secret key.' })
  async setUserContact(@Arg('id', () => ID) id: string, @Arg('input', () => UserContactInput) input: UserContactInput, @Ctx() ctx: RequestContext): Promise<UserType> {
    const tenant = tenantOf(ctx);
    const user = await ctx.services.lifecycle.contacts.setByPartner(ctx.em, tenant, id, input, ctx.ip);
    return UserType.from(user, tenant.settings);
  }

  @Mutation(() => Boolean, { description: 'Erase a customer: personal data, sessions, codes, tokens; the email and phone are free at once; a tombstone keeps the id and time. Secret key.' })
  async deleteUser(@Arg('id', () => ID) id: string, @Ctx() ctx: RequestContext): Promise<boolean> {
    await ctx.services.lifecycle.accounts.delete(ctx.em, tenantOf(ctx), id, { by: 'partner', ip: ctx.ip });
    return true;
  }

  @Query(() => SecurityEventConnection, { description: 'Security events of this app, oldest first; cursor paging, first 1–100. Secret key.' })
  async securityEvents(
    @Arg('filter', () => SecurityEventFilter, { nullable: true }) filter: SecurityEventFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: RequestContext,
  ): Promise<SecurityEventConnection> {
    const page = await ctx.services.events.list(ctx.em, tenantOf(ctx), filter ?? {}, first ?? 20, after);
    const edges = page.events.map((event) => ({ cursor: encodeEventCursor(event.id), node: SecurityEventType.from(event) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount: page.totalCount };
  }
}

/** The waiting contact change on User (Menu.app's has_pending_email_change / has_pending_phone_number_change). */
@Resolver(() => UserType)
export class PendingContactResolver {
  @FieldResolver(() => String, { nullable: true, description: 'The new email waiting for its code (requestEmailChange), or null' })
  async pendingEmailChange(@Root() user: UserType, @Ctx() ctx: RequestContext): Promise<string | null> {
    const pending = await ctx.services.lifecycle.contacts.pending(ctx.em, user.id);
    return pending?.kind === 'email' ? pending.address : null;
  }

  @FieldResolver(() => String, { nullable: true, description: 'The new phone number (E.164) waiting for its code (requestPhoneChange), or null' })
  async pendingPhoneChange(@Root() user: UserType, @Ctx() ctx: RequestContext): Promise<string | null> {
    const pending = await ctx.services.lifecycle.contacts.pending(ctx.em, user.id);
    return pending?.kind === 'phone' ? pending.address : null;
  }
}
