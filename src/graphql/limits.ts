import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  type ASTNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ArgumentNode,
  type FieldNode,
} from 'graphql';
import { AppError } from '../errors';

/**
 * Query limits (SPEC §7), so a costly document is refused before any resolver runs, and
 * before graphql's own validation rules spend CPU on it (see queryLimitsRule). Every refusal
 * answers `QUERY_TOO_COMPLEX`. At the end, two input-hygiene guards that answer
 * BAD_USER_INPUT (unsupported operation types, NUL characters).
 */
export const LIMITS = {
  /**
   * Tokens the parser reads before it gives up (Apollo's `parseOptions.maxTokens`): bounds the
   * work of parsing and the parser's recursion. The largest real documents are far below it:
   * the whole playground (15 operations) has 366, the introspection query 184, the biggest
   * client/operations file 216. Lists of input go in variables, which are not tokens.
   */
  maxTokens: 1_000,
  /**
   * Fields, fragment spreads and inline fragments in an operation, fragments counted each time
   * they are spread, introspection included (the standard introspection query has 240). This
   * also bounds the walk itself: a fragment spread twice per level doubles at every level.
   */
  maxSelections: 1_000,
  /**
   * How often one response name (a field, or an alias) may appear in one selection set,
   * fragments and inline fragments included. graphql's OverlappingFieldsCanBeMergedRule
   * compares every pair of them: 100 copies of one field cost milliseconds to validate.
   */
  maxRepeats: 10,
  /** Nesting of fields, counting fragments where they are spread. */
  maxDepth: 12,
  /** Aliased fields per operation, counting fragments each time they are spread. */
  maxAliases: 30,
  /** Fields an operation may make the server resolve, lists multiplied out (see Walk). */
  maxCost: 20_000,
  /** Introspection fields (`__schema`, `__type`) per operation. */
  maxIntrospectionFields: 1,
  /** Lists nested inside introspection: the standard query needs 3 (types > fields > args). */
  maxIntrospectionListNesting: 3,
};

/** What a list field is assumed to return when nothing (no `first`) says how long it is. */
const DEFAULT_LIST_SIZE = 10;
/** The largest page a `first` argument may ask for (SPEC §4.1: 1–100). */
const MAX_PAGE = 100;

export interface Measure {
  depth: number;
  aliases: number;
  cost: number;
  selections: number;
  /** The most times one response name appears in one selection set. */
  repeats: number;
  introspectionFields: number;
  introspectionListNesting: number;
}

/** Where the walk is: how deep, how many times over (lists), and whether inside introspection. */
interface At {
  depth: number;
  /** Product of the sizes of the lists above. */
  multiplier: number;
  /** A `first` seen on a field above whose list (a connection's `edges`) is not reached yet. */
  pendingSize: number | undefined;
  /** Lists nested so far inside `__schema`/`__type`; undefined outside introspection. */
  introspectionLists: number | undefined;
}

/**
 * The walk of one operation, following fragments where they are spread.
 *
 * Cost: every field costs 1 times the product of the sizes of the lists it sits in. A list's
 * size is the `first` argument of the field that carries it (a connection's `first` sizes its
 * `edges`), else DEFAULT_LIST_SIZE; a `first` given by a variable counts at its worst,
 * MAX_PAGE, since validation runs before variables are known.
 *
 * Introspection is measured differently: its list sizes are the schema's own (every type,
 * every field), so a guessed multiplier would either refuse the standard introspection query
 * (and break the playground) or let a deep one through. Instead, an operation may hold one
 * introspection field, with lists nested at most as deep as the standard query nests them;
 * that bounds it by the schema's size. `ofType` (a List/NonNull wrapper chain, null after a
 * few levels, nested 9 times by the standard query) adds no depth.
 */
class Walk {
  readonly measure: Measure = { depth: 0, aliases: 0, cost: 0, selections: 0, repeats: 0, introspectionFields: 0, introspectionListNesting: 0 };

  constructor(
    private readonly context: ValidationContext,
    private readonly schema: GraphQLSchema,
  ) {}

  /** Whether a limit is already broken: the walk stops there (which also bounds its time). */
  over(): boolean {
    const m = this.measure;
    return (
      m.cost > LIMITS.maxCost ||
      m.aliases > LIMITS.maxAliases ||
      m.depth > LIMITS.maxDepth ||
      m.selections > LIMITS.maxSelections ||
      m.repeats > LIMITS.maxRepeats ||
      m.introspectionFields > LIMITS.maxIntrospectionFields ||
      m.introspectionListNesting > LIMITS.maxIntrospectionListNesting
    );
  }

  /** `names`: how often each response name appeared in this selection set (fragments merge into it). */
  selections(set: SelectionSetNode, parent: GraphQLCompositeType, at: At, fragments: Set<string>, names = new Map<string, number>()): void {
    for (const selection of set.selections) {
      if (this.over()) return;
      this.measure.selections += 1;
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const seen = (names.get(key) ?? 0) + 1;
        names.set(key, seen);
        this.measure.repeats = Math.max(this.measure.repeats, seen);
        this.field(selection, parent, at, fragments);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) this.selections(selection.selectionSet, type, at, fragments, names);
      } else {
        const name = selection.name.value;
        // A fragment cycle is reported by graphql's own NoFragmentCyclesRule; just do not loop.
        if (fragments.has(name)) continue;
        const fragment = this.context.getFragment(name);
        const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || !isCompositeType(type)) continue;
        fragments.add(name);
        this.selections(fragment.selectionSet, type, at, fragments, names);
        fragments.delete(name);
      }
    }
  }

  private field(selection: FieldNode, parent: GraphQLCompositeType, at: At, fragments: Set<string>): void {
    const m = this.measure;
    const name = selection.name.value;
    const field = this.fieldDef(parent, name);
    if (selection.alias) m.aliases += 1;
    let introspectionLists = at.introspectionLists;
    if (name === '__schema' || name === '__type') {
      m.introspectionFields += 1;
      introspectionLists = 0;
    }
    const depth = name === 'ofType' && parent.name === '__Type' ? at.depth : at.depth + 1;
    m.depth = Math.max(m.depth, depth);
    if (introspectionLists === undefined) m.cost += at.multiplier;
    if (!field || !selection.selectionSet) return;

    let multiplier = at.multiplier;
    let pendingSize = this.firstArgument(field, selection.arguments ?? []) ?? at.pendingSize;
    if (isListType(getNullableType(field.type))) {
      if (introspectionLists === undefined) {
        multiplier *= pendingSize ?? DEFAULT_LIST_SIZE;
      } else {
        introspectionLists += 1;
        m.introspectionListNesting = Math.max(m.introspectionListNesting, introspectionLists);
      }
      pendingSize = undefined;
    }
    const named = getNamedType(field.type);
    if (isCompositeType(named)) this.selections(selection.selectionSet, named, { depth, multiplier, pendingSize, introspectionLists }, fragments);
  }

  private fieldDef(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
    if (name === '__typename') return TypeNameMetaFieldDef;
    if (parent === this.schema.getQueryType()) {
      if (name === '__schema') return SchemaMetaFieldDef;
      if (name === '__type') return TypeMetaFieldDef;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  }

  /** The page size a field asks for through `first`: literal, its default, or worst case. */
  private firstArgument(field: GraphQLField<unknown, unknown>, args: readonly ArgumentNode[]): number | undefined {
    const definition = field.args.find((a) => a.name === 'first');
    if (!definition) return undefined;
    const given = args.find((a) => a.name.value === 'first');
    if (!given) return typeof definition.defaultValue === 'number' ? clampPage(definition.defaultValue) : MAX_PAGE;
    if (given.value.kind === Kind.INT) return clampPage(Number(given.value.value));
    return MAX_PAGE;
  }
}

/** Out-of-range pages are refused by the resolver; for cost, count them as 1 or MAX_PAGE. */
function clampPage(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(Math.trunc(value), 1), MAX_PAGE) : MAX_PAGE;
}

function tooComplex(message: string, node: ASTNode): GraphQLError {
  // Apollo re-wraps validation errors as GRAPHQL_VALIDATION_FAILED but keeps originalError:
  // an AppError there is what format-error.ts turns back into QUERY_TOO_COMPLEX.
  return new GraphQLError(message, { nodes: [node], originalError: new AppError('QUERY_TOO_COMPLEX', message) });
}

/** Measures an operation (exported for tests and for tuning the limits against real documents). */
export function measureOperation(context: ValidationContext, operation: OperationDefinitionNode): Measure {
  const schema = context.getSchema();
  const root =
    operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  const walk = new Walk(context, schema);
  if (root) walk.selections(operation.selectionSet, root, { depth: 0, multiplier: 1, pendingSize: undefined, introspectionLists: undefined }, new Set());
  return walk.measure;
}

/** Why an operation breaks a limit, or null when it keeps them all. */
export function limitBreach(m: Measure, operation: OperationDefinitionNode): string | null {
  const name = operation.name ? `Operation ${operation.name.value}` : 'The operation';
  if (m.depth > LIMITS.maxDepth) return `${name} nests fields more than ${LIMITS.maxDepth} levels deep; split it into smaller queries`;
  if (m.aliases > LIMITS.maxAliases) return `${name} has more than ${LIMITS.maxAliases} aliased fields; send fewer per request`;
  if (m.repeats > LIMITS.maxRepeats) return `${name} asks for one field more than ${LIMITS.maxRepeats} times in one selection set; ask for each field once`;
  if (m.selections > LIMITS.maxSelections) {
    return `${name} has more than ${LIMITS.maxSelections} selections once its fragments are spread; send a smaller query`;
  }
  if (m.introspectionFields > LIMITS.maxIntrospectionFields || m.introspectionListNesting > LIMITS.maxIntrospectionListNesting) {
    return `${name} asks for more introspection than the standard introspection query; send one __schema or __type per request`;
  }
  if (m.cost > LIMITS.maxCost) return `${name} would resolve more than ${LIMITS.maxCost} fields; ask for smaller pages (first) or fewer fields`;
  return null;
}

/**
 * All the limits in one rule, checked when validation enters the Document: before any other
 * rule has looked at a selection set. Apollo Server runs `validationRules` in the same pass
 * as graphql's specified rules (appended after them), and graphql visits the rules in
 * parallel, node by node; the Document node comes first, and the only specified rules that
 * act on it just list its definitions. On a breach the rule reports it and returns null for
 * the Document, which in graphql's visitor API means "remove this node": the visit then skips
 * everything below it for every rule. So a refused document never reaches the costly rules
 * (OverlappingFieldsCanBeMergedRule compares fields pairwise), and the answer is only ours.
 * Each operation is walked once (stopping at its first breach), fragments where spread.
 */
export const queryLimitsRule: ValidationRule = (context) => ({
  Document(document) {
    let refused = false;
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
      const breach = limitBreach(measureOperation(context, definition), definition);
      if (breach) {
        context.reportError(tooComplex(breach, definition));
        refused = true;
      }
    }
    return refused ? null : undefined;
  },
});

/**
 * Input hygiene. graphql-js 16 validates a subscription even when the schema has none, and
 * then fails at execution with an uncoded error that would reach the client as INTERNAL; this
 * refuses it up front (graphql 17 has this rule built in as KnownOperationTypes).
 */
export const knownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    const schema = context.getSchema();
    const root = operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    if (!root) context.reportError(new GraphQLError(`This API has no ${operation.operation} operations`, { nodes: [operation] }));
    return false;
  },
});

/**
 * No string input may hold U+0000. No email, name, id or password legitimately has one,
 * PostgreSQL text cannot store it, and the SQLite driver cuts its SQL at it (an INTERNAL
 * instead of an answer). GraphQL's lexer already refuses a raw NUL in a string literal; this
 * catches the escaped form (\u0000) in literals, and nulPlugin below catches it in variables.
 */
export const noNulLiteralRule: ValidationRule = (context) => ({
  StringValue(node) {
    if (node.value.includes('\u0000')) context.reportError(new GraphQLError('Strings must not contain a NUL character (\\u0000)', { nodes: [node] }));
  },
});

/** Where in a variables object the first NUL-holding string is (e.g. `input.firstName`), if any. */
export function findNul(variables: unknown): string | undefined {
  // Iterative: variables may nest thousands of levels within the body limit.
  const stack: [unknown, string][] = [[variables, '']];
  while (stack.length) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return path;
    } else if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) stack.push([child, path ? `${path}.${key}` : key]);
    }
  }
  return undefined;
}

/** Refuses variables holding a NUL with BAD_USER_INPUT naming the field, before any resolver runs. */
export const nulPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request }) {
        const path = request.variables && findNul(request.variables);
        if (path === undefined) return;
        const field = path.split('.').slice(1).join('.') || path;
        throw new GraphQLError(`${path} must not contain a NUL character (\\u0000)`, {
          extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } },
        });
      },
    };
  },
};

/** The rules Apollo Server gets as `validationRules`. */
export const LIMIT_RULES: ValidationRule[] = [queryLimitsRule, knownOperationTypesRule, noNulLiteralRule];
