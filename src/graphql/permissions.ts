import { Kind, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLResolveInfo, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import type { IMiddlewareFunction, IMiddlewareTypeMap } from 'graphql-middleware';
import { deny, rule, shield, type IRules } from 'graphql-shield';
import { AppError, toGraphQLError } from '../errors';
import type { Caller, UnauthenticatedReason } from '../identity/caller';
import type { CredentialUse } from '../server/authenticate';
import type { RequestContext } from './context';

/**
 * Who may call what: SPEC §1's table, in full. `origin` means a client-side call with no
 * credentials from one of the app's allowed origins (autologin checks the origin itself,
 * so it can answer INVALID_DOMAIN / NO_TOKEN_ALLOWED as the reference does).
 * Anything not listed is denied by the shield's fallback rule.
 */
export type Access = 'publishable' | 'secret' | 'bearer' | 'origin';

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
  // account lifecycle (SPEC §4.10): the customer's own…
  requestEmailChange: ['bearer'],
  requestPhoneChange: ['bearer'],
  confirmContactChange: ['bearer'],
  sessions: ['bearer'],
  revokeSession: ['bearer'],
  deleteAccount: ['bearer'],
  // …and the partner's
  suspendUser: ['secret'],
  reinstateUser: ['secret'],
  deleteUser: ['secret'],
  revokeUserSessions: ['secret'],
  setUserContact: ['secret'],
  securityEvents: ['secret'],
};

/** "login needs a publishable or secret API key (x-api-key)" — SPEC §1: FORBIDDEN names the credential needed. */
export function needs(operation: string, access: Access[]): string {
  const keys = access.filter((a) => a === 'publishable' || a === 'secret');
  const parts: string[] = [];
  if (keys.length) parts.push(`a ${keys.join(' or ')} API key (x-api-key)`);
  if (access.includes('bearer')) parts.push('a bearer access token (Authorization: Bearer …)');
  if (access.includes('origin')) parts.push("no credentials from one of the app's allowed origins (client-side)");
  return `${operation} needs ${parts.join(', or ')}`;
}

const REASON_MESSAGES: Record<UnauthenticatedReason, string> = {
  missing_credentials: 'No credentials were sent',
  invalid_key: 'The API key is not valid',
  revoked_key: 'The API key has been revoked',
  invalid_token: 'The access token is not valid',
  token_expired: 'The access token has expired; call refresh for a new one',
  session_ended: 'The session has ended; sign in again',
};

/**
 * UNAUTHENTICATED with `extensions.reason` when no usable credential was sent (so a client
 * knows whether to refresh or to sign in again); FORBIDDEN naming the credential needed when
 * it is of the wrong kind.
 */
export function denial(caller: Caller, operation: string, access: Access[]): AppError {
  const need = needs(operation, access);
  if (caller.kind === 'none') return new AppError('UNAUTHENTICATED', `${REASON_MESSAGES.missing_credentials}: ${need}`, { reason: 'missing_credentials' });
  if (caller.kind === 'invalid' && caller.suspended) return new AppError('ACCOUNT_SUSPENDED', 'This account is suspended; its sessions have ended', { reason: caller.reason });
  if (caller.kind === 'invalid') return new AppError('UNAUTHENTICATED', REASON_MESSAGES[caller.reason], { reason: caller.reason });
  return new AppError('FORBIDDEN', need);
}

/** What a participant session (client-side autologin, SPEC §4.8) may do: look at itself, end itself. */
const PARTICIPANT_OPERATIONS = new Set(['me', 'logout']);
/** The User fields a participant session shows (SPEC §4.8). */
export const PARTICIPANT_USER_FIELDS = new Set(['id', 'externalId', 'firstName', 'lastName']);

/**
 * SPEC §1: a browser request (Origin header, not the gateway's own pages) with a publishable
 * key works only from the key's own app's pages, when that app lists allowedOrigins.
 */
function foreignOrigin(ctx: RequestContext): boolean {
  const { caller } = ctx;
  if (caller.kind !== 'publishable' || !ctx.crossOrigin || ctx.origin === null) return false;
  const allowed = caller.settings.allowedOrigins;
  return allowed.length > 0 && !allowed.includes(ctx.origin);
}

function accessRule(name: string, access: Access[]) {
  return rule(`access:${name}`, { cache: 'contextual' })((_parent, _args, ctx: RequestContext) => {
    const { caller } = ctx;
    if (foreignOrigin(ctx)) {
      return toGraphQLError(new AppError('INVALID_DOMAIN', "This publishable key does not work from this page's origin: it is not among its app's allowedOrigins"));
    }
    if (caller.kind !== 'none' && caller.kind !== 'invalid' && access.includes(caller.kind)) {
      if (caller.kind === 'bearer' && caller.participant && !PARTICIPANT_OPERATIONS.has(name)) {
        return toGraphQLError(new AppError('FORBIDDEN', `${name} is not available to a participant session (client-side autologin); it needs a full sign-in`));
      }
      return true;
    }
    if (access.includes('origin')) {
      // Client-side path: the resolver checks the origin; credentials there are refused by name.
      if (caller.kind === 'none') return true;
      if (ctx.origin) return toGraphQLError(new AppError('NO_TOKEN_ALLOWED'));
    }
    return toGraphQLError(denial(caller, name, access));
  });
}

/**
 * Which credential an operation acts with when the request carries both a key and a bearer
 * token (server/authenticate.ts): the key when every root field takes a key, else the bearer.
 */
export function credentialUse(operation: OperationDefinitionNode, fragments: Record<string, FragmentDefinitionNode>): CredentialUse {
  const fields = rootFields(operation.selectionSet, fragments, new Set());
  const known = fields.map((f) => OPERATION_ACCESS[f]).filter(Boolean);
  return known.every((access) => access.includes('publishable') || access.includes('secret')) ? 'key' : 'bearer';
}

function rootFields(selectionSet: SelectionSetNode, fragments: Record<string, FragmentDefinitionNode>, seen: Set<string>): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) names.push(selection.name.value);
    else if (selection.kind === Kind.INLINE_FRAGMENT) names.push(...rootFields(selection.selectionSet, fragments, seen));
    else if (!seen.has(selection.name.value) && fragments[selection.name.value]) {
      seen.add(selection.name.value);
      names.push(...rootFields(fragments[selection.name.value].selectionSet, fragments, seen));
    }
  }
  return names;
}

/**
 * Personal data of a User resolves only for a secret key, for the user's own bearer token,
 * or in the answer of the call that just proved to be that user (login, register…). A
 * participant session (and the exchange that starts one) sees id, externalId and names only.
 */
export type UserVisibility = 'all' | 'participant' | 'none';

export function userVisibility(user: { id: string }, ctx: RequestContext): UserVisibility {
  const { caller } = ctx;
  if (caller.kind === 'secret') return 'all';
  const own = caller.kind === 'bearer' && caller.userId === user.id;
  if (own && !caller.participant) return 'all';
  if (ctx.revealedUserIds.has(user.id)) return 'all';
  return own || ctx.participantUserIds.has(user.id) ? 'participant' : 'none';
}

type FieldResolve = (parent: unknown, args: unknown, ctx: RequestContext, info: GraphQLResolveInfo) => unknown;

/**
 * The User fields' guard: a plain synchronous check before each field (the decision is a few
 * comparisons on the User object and the request), so a User's ~40 scalar fields resolve as
 * plain reads. As a graphql-shield rule on `User.*` each of them went through the shield's
 * asynchronous rule machinery: ~2 µs more per field, +65 µs for a whole profile
 * (bench/field-cost.ts, bench/README.md).
 */
function guardUserField(resolve: FieldResolve, parent: unknown, args: unknown, ctx: RequestContext, info: GraphQLResolveInfo): unknown {
  const seen = userVisibility(parent as { id: string }, ctx);
  if (seen === 'all' || (seen === 'participant' && PARTICIPANT_USER_FIELDS.has(info.fieldName))) return resolve(parent, args, ctx, info);
  if (seen === 'participant') {
    return toGraphQLError(new AppError('FORBIDDEN', `A participant session (client-side autologin) shows only ${[...PARTICIPANT_USER_FIELDS].join(', ')}`));
  }
  return toGraphQLError(new AppError('FORBIDDEN', 'These credentials may not read this profile'));
}

/**
 * The permissions as middleware for the schema as built. The shield decides where there is
 * something to decide: every root field (the rules for operations that exist; anything else,
 * denied by its fallback rule). Payload types need no rule (they were `allow`, at the price of
 * an asynchronous wrapper on every field of every type), and User's fields get the
 * synchronous guard above.
 */
export function buildPermissions(schema: GraphQLSchema): IMiddlewareTypeMap {
  const tree: Record<string, Record<string, unknown>> = {};
  const roots = [schema.getQueryType(), schema.getMutationType()].filter((root): root is GraphQLObjectType => !!root);
  for (const root of roots) {
    const rules: Record<string, unknown> = {};
    for (const field of Object.keys(root.getFields())) {
      const access = OPERATION_ACCESS[field];
      if (access) rules[field] = accessRule(field, access);
    }
    tree[root.name] = rules;
  }
  const generated = shield(tree as IRules, {
    fallbackRule: deny,
    fallbackError: () => toGraphQLError(new AppError('FORBIDDEN', 'This operation is not available')),
    // Let resolver errors through: format-error.ts maps and masks them in one place.
    allowExternalErrors: true,
    debug: false,
  }).generate(schema) as IMiddlewareTypeMap;
  const middleware: IMiddlewareTypeMap = {};
  for (const root of roots) middleware[root.name] = generated[root.name];
  if (schema.getType('User')) middleware.User = guardUserField as IMiddlewareFunction;
  return middleware;
}
