import { GraphQLObjectType, isObjectType, type GraphQLSchema } from 'graphql';
import { allow, deny, rule, shield, type IRules } from 'graphql-shield';
import { AppError, toGraphQLError } from '../errors';
import type { Caller, RequestContext } from './context';

/**
 * Who may call what: SPEC §1's table, in full. `origin` means a client-side call with no
 * credentials from one of the app's allowed origins (autologin checks the origin itself,
 * so it can answer INVALID_DOMAIN / NO_TOKEN_ALLOWED as the reference does).
 * Anything not listed is denied by the shield's fallback rule.
 */
type Access = 'publishable' | 'secret' | 'bearer' | 'origin';

export const OPERATION_ACCESS: Record<string, Access[]> = {
  // lookups
  checkEmail: ['publishable', 'secret'],
  checkPhoneNumber: ['publishable', 'secret'],
  // sign-up and sign-in
  register: ['publishable', 'secret'],
  requestOtp: ['publishable', 'secret'],
  validateOtp: ['publishable', 'secret'],
  login: ['publishable', 'secret'],
  refresh: ['publishable', 'secret'],
  requestPasswordReset: ['publishable', 'secret'],
  resetPassword: ['publishable', 'secret'],
  exchangeLoginTicket: ['publishable', 'secret'],
  // partner servers
  user: ['secret'],
  users: ['secret'],
  createUser: ['secret'],
  updateUser: ['secret'],
  importUsers: ['secret'],
  autologin: ['secret', 'origin'],
  // the signed-in customer
  me: ['bearer'],
  updateProfile: ['bearer'],
  changePassword: ['bearer'],
  logout: ['bearer'],
  acceptLegalAgreement: ['bearer'],
  // social sign-in (SPEC §4.9)
  socialNonce: ['publishable', 'secret'],
  signInWithIdToken: ['publishable', 'secret'],
  signInWithAccessToken: ['publishable', 'secret'],
  startSocialSignIn: ['publishable', 'secret'],
  linkIdentity: ['bearer'],
  unlinkIdentity: ['bearer'],
};

/** UNAUTHENTICATED when no usable credential was sent; FORBIDDEN when it is of the wrong kind. */
export function denial(caller: Caller): AppError {
  return caller.kind === 'none' || caller.kind === 'invalid' ? new AppError('UNAUTHENTICATED') : new AppError('FORBIDDEN');
}

function accessRule(name: string, access: Access[]) {
  return rule(`access:${name}`, { cache: 'contextual' })((_parent, _args, ctx: RequestContext) => {
    const { caller } = ctx;
    if (caller.kind !== 'none' && caller.kind !== 'invalid' && access.includes(caller.kind)) return true;
    if (access.includes('origin')) {
      // Client-side path: the resolver checks the origin; credentials there are refused by name.
      if (caller.kind === 'none') return true;
      if (ctx.origin) return toGraphQLError(new AppError('NO_TOKEN_ALLOWED'));
    }
    return toGraphQLError(denial(caller));
  });
}

/**
 * Personal data of a User resolves only for a secret key, for the user's own bearer token,
 * or in the answer of the call that just proved to be that user (login, register…).
 */
const canSeeUser = rule('user-fields', { cache: 'no_cache' })((parent: { id: string }, _args, ctx: RequestContext) => {
  const { caller } = ctx;
  if (caller.kind === 'secret') return true;
  if (caller.kind === 'bearer' && caller.userId === parent.id) return true;
  if (ctx.revealedUserIds.has(parent.id)) return true;
  return toGraphQLError(new AppError('FORBIDDEN', 'These credentials may not read this profile'));
});

/** The rule tree for the schema as built: rules for operations that exist, allow for payload types. */
export function buildPermissions(schema: GraphQLSchema) {
  const tree: Record<string, unknown> = {};
  for (const root of [schema.getQueryType(), schema.getMutationType()]) {
    if (!root) continue;
    const rules: Record<string, unknown> = {};
    for (const field of Object.keys(root.getFields())) {
      const access = OPERATION_ACCESS[field];
      if (access) rules[field] = accessRule(field, access);
    }
    tree[root.name] = rules;
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__') || isRoot(schema, type)) continue;
    tree[type.name] = type.name === 'User' ? { '*': canSeeUser } : allow;
  }
  return shield(tree as IRules, {
    fallbackRule: deny,
    fallbackError: () => toGraphQLError(new AppError('FORBIDDEN', 'This operation is not available')),
    // Let resolver errors through: format-error.ts maps and masks them in one place.
    allowExternalErrors: true,
    debug: false,
  });
}

function isRoot(schema: GraphQLSchema, type: GraphQLObjectType): boolean {
  return type === schema.getQueryType() || type === schema.getMutationType() || type === schema.getSubscriptionType();
}
