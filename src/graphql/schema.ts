import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { applyMiddleware } from 'graphql-middleware';
import { buildSchemaSync } from 'type-graphql';
import { RESOLVERS } from './resolvers';
import { buildPermissions } from './permissions';
import { callLimitMiddleware } from './call-limits';

/** The schema as the code declares it: what schema.graphql shows and codegen reads. */
export function buildBareSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers: RESOLVERS as unknown as [Function, ...Function[]],
    // Inputs are checked in the domain (identity/validation.ts), not by class-validator here.
    validate: false,
  });
}

/** The served schema: the same, with the shield wrapped around every field. */
export function buildServedSchema(): GraphQLSchema {
  const schema = buildBareSchema();
  // The shield first (outermost): a refused call spends no rate-limit budget.
  return applyMiddleware(schema, buildPermissions(schema), callLimitMiddleware);
}

export function printSchemaFile(schema: GraphQLSchema): string {
  return `# Generated from the code by \`npm run schema:emit\`; do not edit by hand.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}
