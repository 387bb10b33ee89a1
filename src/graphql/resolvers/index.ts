import { AccountResolver } from './account.resolver';
import { LookupResolver } from './lookup.resolver';
import { OtpResolver } from './otp.resolver';
import { ProfileResolver } from './profile.resolver';
import { RegistrationResolver } from './registration.resolver';
import { SessionResolver } from './session.resolver';
import { SocialResolver, UserIdentitiesResolver } from './social.resolver';
import { UsersResolver } from './users.resolver';
import { LifecycleResolver, PendingContactResolver } from './lifecycle.resolver';

/** Every resolver class of the API; one line per flow. */
export const RESOLVERS = [LookupResolver, UsersResolver, RegistrationResolver, OtpResolver, SessionResolver, ProfileResolver, AccountResolver, SocialResolver, UserIdentitiesResolver, LifecycleResolver, PendingContactResolver] as const;
