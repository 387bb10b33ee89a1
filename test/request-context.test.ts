import type { MikroORM } from '@mikro-orm/core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HotStore } from '../src/db/fast';
import { migrate, openOrm } from '../src/db/orm';
import { RequestStorage, requestContext, type RequestContext } from '../src/graphql/context';

/**
 * The request context's two storage handles (graphql/context.ts) on a real SQLite file: `em`
 * is forked on first use, `reader` is the root until then, and a copy made the way Apollo
 * makes one per operation (Object.assign into an object of the same prototype) shares both.
 */
let orm: MikroORM;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-context-'));
  orm = await openOrm({ databaseUrl: `sqlite:${join(dir, 'context.db')}` });
  await migrate(orm);
});
afterAll(async () => {
  await orm.close(true);
  rmSync(dir, { recursive: true, force: true });
});

function context(): RequestContext {
  const fields = {
    requestId: 'r1', ip: '127.0.0.1', origin: null, crossOrigin: false, userAgent: null, caller: { kind: 'none' as const },
    services: {} as RequestContext['services'], revealedUserIds: new Set<string>(), participantUserIds: new Set<string>(), reply: { requestError: false },
  };
  return requestContext(fields, new RequestStorage(orm.em));
}

/** What @apollo/server's internalExecuteOperation does to the context it is given. */
const apolloCopy = (ctx: RequestContext): RequestContext => Object.assign(Object.create(Object.getPrototypeOf(ctx) as object) as object, ctx) as RequestContext;

describe('the request context’s storage', () => {
  it('reads through the root EntityManager until the request needs its own, then through that fork', () => {
    const ctx = context();
    expect(ctx.reader).toBe(orm.em);
    const em = ctx.em;
    expect(em).not.toBe(orm.em);
    expect(ctx.em).toBe(em);
    expect(ctx.reader).toBe(em);
  });

  it('is shared by Apollo’s copy of the context: copying forks nothing, and a fork made through the copy is the original’s', () => {
    const ctx = context();
    const copy = apolloCopy(ctx);
    expect(copy.reader).toBe(orm.em);
    const em = copy.em;
    expect(ctx.em).toBe(em);
    expect(ctx.reader).toBe(em);
    expect(apolloCopy(copy).em).toBe(em);
  });

  it('gives each request a fork of its own', () => {
    expect(context().em).not.toBe(context().em);
  });

  it('lets the prepared path read through the root, and refuses the ORM’s own use of it', async () => {
    const ctx = context();
    await expect(HotStore.of(ctx.reader).checkEmail(ctx.reader, 'no-such-app', 'a@b.example')).resolves.toEqual({ exists: false, isSocial: false });
    await expect(ctx.reader.findOne('User', { emailKey: 'a@b.example' })).rejects.toThrow(/global EntityManager/);
  });
});
