import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { DocumentNode } from 'graphql';

/**
 * Parsed and validated documents Apollo keeps, measured as their JSON length (Apollo's own
 * estimate). Apollo's default is 30 MiB of that, and a parsed document in memory is several
 * times its JSON: a client sending a new document each time (bench/README.md "Hostile
 * documents") took the gateway to 760 MB. 4 MiB holds a few thousand ordinary operations,
 * far more than any set of client apps sends.
 */
const DOCUMENT_CACHE_JSON_BYTES = 4 * 2 ** 20;

/** Hashes of documents seen once that the doorkeeper remembers before it starts over. */
const DOORKEEPER_KEYS = 4096;

/**
 * Apollo's document store, admitting a document on its second sighting. Client apps send the
 * same few documents again and again, so they are cached from their second request on. A
 * client that sends a new document every time (a script, an attacker, the bench's "new doc"
 * load) would otherwise put every one in the cache and push an older one out: each parsed
 * document lived long enough to be promoted to V8's old generation and died there, which is
 * what grows the heap fastest (bench/README.md "RSS, third pass"). A document seen once costs
 * only its hash here, and the doorkeeper forgets everything when it is full (the admission
 * filter of TinyLFU, without the counting).
 */
export class DocumentStore implements KeyValueCache<DocumentNode> {
  private readonly cache = new InMemoryLRUCache<DocumentNode>({ maxSize: DOCUMENT_CACHE_JSON_BYTES });
  private readonly seenOnce = new Set<string>();

  get(key: string): Promise<DocumentNode | undefined> {
    return this.cache.get(key);
  }

  async set(key: string, value: DocumentNode, options?: KeyValueCacheSetOptions): Promise<void> {
    if (this.seenOnce.delete(key)) return this.cache.set(key, value, options);
    if (this.seenOnce.size >= DOORKEEPER_KEYS) this.seenOnce.clear();
    this.seenOnce.add(key);
  }

  delete(key: string): Promise<boolean | void> {
    this.seenOnce.delete(key);
    return this.cache.delete(key);
  }
}
