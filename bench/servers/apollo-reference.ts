/**
 * The Apollo reference: what the design card's server costs before any of our layers.
 * Apollo Server 5's standalone server (node:http inside) with one hand-written resolver,
 * `checkEmail`, over a prepared sqlite3 statement on the same file. No API key, no shield,
 * no ORM, no logging.
 */
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { fail, onStop, ready, required } from '../lib/child';
import { openLookup } from '../lib/lookup';

const typeDefs = /* GraphQL */ `
  type IdentityCheck {
    exists: Boolean!
    isSocial: Boolean!
  }
  type Query {
    checkEmail(email: String!): IdentityCheck!
  }
`;

async function main(): Promise<void> {
  const lookup = await openLookup(required('BENCH_DB'), required('BENCH_APP_ID'));
  const server = new ApolloServer({
    typeDefs,
    resolvers: {
      Query: {
        checkEmail: async (_parent: unknown, args: { email: string }) => {
          const row = await lookup.byEmail(args.email);
          return { exists: row !== undefined, isSocial: Boolean(row?.is_social) };
        },
      },
    },
  });
  const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: 0 } });
  onStop(async () => {
    await server.stop();
    await lookup.close();
  });
  ready({ url: new URL('/graphql', url).toString() });
}

main().catch(fail);
