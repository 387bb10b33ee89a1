import { LookupResolver } from './lookup.resolver';
import { UsersResolver } from './users.resolver';

/** Every resolver class of the API; one line per flow. */
export const RESOLVERS = [LookupResolver, UsersResolver] as const;
