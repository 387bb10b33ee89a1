import { LookupResolver } from './lookup.resolver';
import { ProfileResolver } from './profile.resolver';
import { RegistrationResolver } from './registration.resolver';
import { SessionResolver } from './session.resolver';
import { UsersResolver } from './users.resolver';

/** Every resolver class of the API; one line per flow. */
export const RESOLVERS = [LookupResolver, UsersResolver, RegistrationResolver, SessionResolver, ProfileResolver] as const;
