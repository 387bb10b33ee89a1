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
  type ValueNode,
} from 'graphql';
import { AppError } from '../errors';

/**
 * Query limits (SPEC §7) as GraphQL validation rules, so a costly document is refused before
 * any resolver runs, and once per distinct document (Apollo caches validated documents).
 * Every refusal answers `QUERY_TOO_COMPLEX`.
 */
export const LIMITS = {
  /** Nesting of fields, counting fragments where they are spread. */
  maxDepth: 12,
  /** Aliased fields per operation, counting fragments each time they are spread. */
  maxAliases: 30,
  /** Fields an operation may make the server resolve, lists multiplied out (see cost below). */
  maxCost: 20_000,
};

/** What a list field is assumed to return when nothing (no `first`) says how long it is. */
const DEFAULT_LIST_SIZE = 10;
/** The largest page a `first` argument may ask for (SPEC §4.1: 1–100). */
const MAX_PAGE = 100;

/**
 * The walk of one operation. Cost: every field costs 1 times the product of the sizes of the
 * lists it sits in. A list's size is the `first` argument of the field that carries it (a
 * connection's `first` sizes its `edges`), else DEFAULT_LIST_SIZE; a `first` given by a
 * variable is taken at its worst, MAX_PAGE, since validation runs before variables are known.
 *
 * `ofType` does not add depth: it walks a type's List/NonNull wrappers, a chain bounded by
 * the schema, and the standard introspection query nests it 9 times. Deep introspection that
 * does cost something (`fields { type { fields … } }`) goes through lists and so through cost.
 */
interface Measure {
  depth: number;
  aliases: number;
  cost: number;
}

class Walk {
  readonly measure: Measure = { depth: 0, aliases: 0, cost: 0 };

  constructor(
    private readonly context: ValidationContext,
    private readonly schema: GraphQLSchema,
  ) {}

  /** Whether a limit is already broken: the walk stops there (it is also what bounds its time). */
  private over(): boolean {
    const m = this.measure;
    return m.cost > LIMITS.maxCost || m.aliases > LIMITS.maxAliases || m.depth > LIMITS.maxDepth;
  }

  selections(
    set: SelectionSetNode,
    parent: GraphQLCompositeType,
    depth: number,
    multiplier: number,
    pendingSize: number | undefined,
    fragments: Set<string>,
  ): void {
    for (const selection of set.selections) {
      if (this.over()) return;
      if (selection.kind === Kind.FIELD) {
        const field = this.fieldDef(parent, selection.name.value);
        const isOfType = selection.name.value === 'ofType';
        const fieldDepth = isOfType ? depth : depth + 1;
        this.measure.depth = Math.max(this.measure.depth, fieldDepth);
        this.measure.cost += multiplier;
        if (selection.alias) this.measure.aliases += 1;
        if (!field || !selection.selectionSet) continue;
        const first = this.firstArgument(field, selection.arguments ?? []);
        let size = first ?? pendingSize;
        let childMultiplier = multiplier;
        if (isListType(getNullableType(field.type))) {
          childMultiplier *= size ?? DEFAULT_LIST_SIZE;
          size = undefined;
        }
        const named = getNamedType(field.type);
        if (isCompositeType(named)) this.selections(selection.selectionSet, named, fieldDepth, childMultiplier, size, fragments);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        if (type && isCompositeType(type)) this.selections(selection.selectionSet, type, depth, multiplier, pendingSize, fragments);
      } else {
        const name = selection.name.value;
        // A fragment cycle is reported by graphql's own NoFragmentCyclesRule; just do not loop.
        if (fragments.has(name)) continue;
        const fragment = this.context.getFragment(name);
        const type = fragment && this.schema.getType(fragment.typeCondition.name.value);
        if (!fragment || !type || !isCompositeType(type)) continue;
        fragments.add(name);
        this.selections(fragment.selectionSet, type, depth, multiplier, pendingSize, fragments);
        fragments.delete(name);
      }
    }
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
  private firstArgument(field: GraphQLField<unknown, unknown>, args: readonly { name: { value: string }; value: ValueNode }[]): number | undefined {
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
  if (root) walk.selections(operation.selectionSet, root, 0, 1, undefined, new Set());
  return walk.measure;
}

/** One rule for all three limits: a single walk per operation, stopping at the first breach. */
export const queryLimitsRule: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    const m = measureOperation(context, operation);
    const name = operation.name ? `Operation ${operation.name.value}` : 'The operation';
    if (m.depth > LIMITS.maxDepth) {
      context.reportError(tooComplex(`${name} nests fields more than ${LIMITS.maxDepth} levels deep; split it into smaller queries`, operation));
    } else if (m.aliases > LIMITS.maxAliases) {
      context.reportError(tooComplex(`${name} has more than ${LIMITS.maxAliases} aliased fields; send fewer per request`, operation));
    } else if (m.cost > LIMITS.maxCost) {
      context.reportError(
        tooComplex(`${name} would resolve more than ${LIMITS.maxCost} fields; ask for smaller pages (first) or fewer fields`, operation),
      );
    }
    return false;
  },
});

/** The rules Apollo Server gets as `validationRules`. */
export const LIMIT_RULES: ValidationRule[] = [queryLimitsRule];
