import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { ServerSecret } from '../db/entities';
import type { Clock } from './clock';
import { randomSecret } from './secrets';

/**
 * Server-wide HMAC keys, created on first use and shared through the database so that every
 * gateway instance derives the same values. Two instances starting at once both try to
 * insert; the loser reads the winner's key.
 */
export class ServerSecrets {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly clock: Clock) {}

  async get(em: EntityManager, name: string): Promise<Buffer> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    const fork = em.fork();
    let row = await fork.findOne(ServerSecret, { name });
    if (!row) {
      try {
        row = fork.create(ServerSecret, { name, value: randomSecret(32), createdAt: this.clock.now() });
        await fork.flush();
      } catch (error) {
        if (!(error instanceof UniqueConstraintViolationException)) throw error;
        row = await em.fork().findOneOrFail(ServerSecret, { name });
      }
    }
    const key = Buffer.from(row.value, 'base64url');
    this.cache.set(name, key);
    return key;
  }
}
