import { Arg, Ctx, Mutation, Resolver } from 'type-graphql';
import { tenantOf, type RequestContext } from '../context';
import { RequestOtpInput, ValidateOtpInput } from '../inputs/otp.input';
import { AuthPayload } from '../types/auth.type';
import { OtpRequest } from '../types/otp.type';
import { countedLogin, signInMeta } from './helpers';

@Resolver()
export class OtpResolver {
  @Mutation(() => OtpRequest, {
    description: 'Send a one-time code (SPEC §4.3). New code after 30 s, at most 5 an hour. Publishable or secret key.',
  })
  async requestOtp(@Arg('input', () => RequestOtpInput) input: RequestOtpInput, @Ctx() ctx: RequestContext): Promise<OtpRequest> {
    const outcome = await ctx.services.otp.request(ctx.em, tenantOf(ctx), input);
    return OtpRequest.from(outcome);
  }

  @Mutation(() => AuthPayload, {
    description: 'Sign in with a code and mark that email or phone verified. Wrong: INVALID_OTP (attemptsLeft); 5 wrong: TOO_MANY_ATTEMPTS.',
  })
  async validateOtp(@Arg('input', () => ValidateOtpInput) input: ValidateOtpInput, @Ctx() ctx: RequestContext): Promise<AuthPayload> {
    const tenant = tenantOf(ctx);
    const result = await countedLogin(ctx, ctx.services.otp.validate(ctx.em, tenant, input, signInMeta(ctx)));
    ctx.revealedUserIds.add(result.user.id);
    return AuthPayload.from(result, tenant.settings);
  }
}
