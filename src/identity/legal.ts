import type { EntityManager } from '@mikro-orm/core';
import { App, LegalAcceptance } from '../db/entities';
import { badInput } from '../errors';
import type { Clock } from './clock';
import { newId } from './secrets';
import type { Tenant, UserService } from './users';

export interface LegalAgreementData {
  deviceUuid: string;
  documents: string[];
}

/**
 * `acceptLegalAgreement` (SPEC §4.7, Menu.app): records which documents a user accepted, on
 * which device and when. An app with `requireLegalAcceptance` shows `legalAccepted: false`
 * until one is recorded.
 */
export class LegalService {
  constructor(
    private readonly users: UserService,
    private readonly clock: Clock,
  ) {}

  async accept(em: EntityManager, tenant: Tenant, userId: string, input: LegalAgreementData): Promise<LegalAcceptance> {
    const deviceUuid = input.deviceUuid.trim();
    if (!deviceUuid || deviceUuid.length > 64) throw badInput('deviceUuid', 'deviceUuid must be 1 to 64 characters');
    const documents = [...new Set(input.documents.map((d) => d.trim()))];
    if (documents.length === 0 || documents.length > 20) throw badInput('documents', 'documents must list 1 to 20 documents');
    if (documents.some((d) => !d || d.length > 200)) throw badInput('documents', 'each document must be 1 to 200 characters');

    const user = await this.users.requireById(em, tenant, userId);
    const now = this.clock.now();
    const acceptance = em.create(LegalAcceptance, { id: newId(), app: em.getReference(App, tenant.app.id), user, deviceUuid, documents, acceptedAt: now });
    user.legalAcceptedAt = now;
    await em.flush();
    return acceptance;
  }
}
