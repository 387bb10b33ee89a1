import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DocumentStore } from '../src/server/document-cache';

/**
 * src/server/document-cache.ts: Apollo's document store admits a document on its second
 * sighting, so a client that sends a new document every time does not churn the cache.
 */
describe('the document store', () => {
  const doc = parse('query Q { __typename }');

  it('keeps a document from its second set on, and forgets a once-seen hash when the doorkeeper is full', async () => {
    const store = new DocumentStore();
    await store.set('a', doc);
    expect(await store.get('a')).toBeUndefined();
    await store.set('a', doc);
    expect(await store.get('a')).toBe(doc);

    await store.set('b', doc);
    // 4096 other documents seen once each fill the doorkeeper, which then starts over.
    for (let i = 0; i < 4096; i++) await store.set(`other ${i}`, doc);
    await store.set('b', doc);
    expect(await store.get('b')).toBeUndefined();
    // What was admitted stays admitted.
    expect(await store.get('a')).toBe(doc);
  });

  it('deletes a cached document and a once-seen hash alike', async () => {
    const store = new DocumentStore();
    await store.set('a', doc);
    await store.set('a', doc);
    await store.set('b', doc);
    await store.delete('a');
    await store.delete('b');
    expect(await store.get('a')).toBeUndefined();
    await store.set('b', doc);
    expect(await store.get('b')).toBeUndefined();
  });
});
