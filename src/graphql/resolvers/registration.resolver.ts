import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { assertNoPartnerKeyFields } from '../../identity/profile';
import { tenantOf, type RequestContext } from '../context';
import { RegisterInput } from '../inputs/auth.input';
import { RegistrationResult } from '../types/auth.type';
import { signInMeta } from './helpers';

@Resolver()
export class RegistrationResolver {
  @Mutation(() => RegistrationResult, { description: 'Sign up (SPEC §4.2). Publishable or secret key; externalId and externalIdType only with a secret key.' })
  async register(@Arg('input', () => RegisterInput) input: RegisterInput, @Ctx() ctx: RequestContext): Promise<RegistrationResult> {
    const tenant = tenantOf(ctx);
    if (ctx.caller.kind !== 'secret') assertNoPartnerKeyFields(input, 'create');
    const outcome = await ctx.services.registration.register(ctx.em, tenant, input, signInMeta(ctx));
    ctx.revealedUserIds.add(outcome.user.id);
    ctx.services.metrics?.signups.inc();
    return RegistrationResult.from(outcome, tenant.settings);
  }
}
