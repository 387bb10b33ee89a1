import type { EntityManager } from '@mikro-orm/core';
import type { AppSettings } from '../config/app-settings';
import { ApiKey, App, type ApiKeyKind } from '../db/entities';
import { AppError } from '../errors';
import type { AppService } from './apps';
import { isUuid } from './apps';

export interface AppSummary {
  appId: string;
  name: string;
  createdAt: string;
  liveKeys: { publishable: number; secret: number };
}

export interface KeySummary {
  keyId: string;
  kind: ApiKeyKind;
  /** The first characters only (`pk_AbCdEfG`): keys are stored as hashes and shown once. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface AppDetails extends Omit<AppSummary, 'liveKeys'> {
  updatedAt: string;
  settings: AppSettings;
  keys: KeySummary[];
}

/** Read-only views of apps and their keys for operators (`gatehouse app list|show`). */
export class AppDirectory {
  constructor(private readonly apps: AppService) {}

  async list(em: EntityManager): Promise<AppSummary[]> {
    const [apps, keys] = await Promise.all([em.find(App, {}, { orderBy: { createdAt: 'asc', id: 'asc' } }), em.find(ApiKey, { revokedAt: null })]);
    return apps.map((app) => {
      const live = keys.filter((k) => k.app.id === app.id);
      return {
        appId: app.id,
        name: app.name,
        createdAt: app.createdAt.toISOString(),
        liveKeys: { publishable: live.filter((k) => k.kind === 'publishable').length, secret: live.filter((k) => k.kind === 'secret').length },
      };
    });
  }

  async show(em: EntityManager, appId: string): Promise<AppDetails> {
    const app = isUuid(appId) ? await em.findOne(App, { id: appId }) : null;
    if (!app) throw new AppError('BAD_USER_INPUT', `no app with id ${appId}`, { field: 'appId' });
    const keys = await em.find(ApiKey, { app: app.id }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return {
      appId: app.id,
      name: app.name,
      createdAt: app.createdAt.toISOString(),
      updatedAt: app.updatedAt.toISOString(),
      settings: this.apps.settingsOf(app),
      keys: keys.map((k) => ({ keyId: k.id, kind: k.kind, prefix: k.prefix, createdAt: k.createdAt.toISOString(), revokedAt: k.revokedAt?.toISOString() ?? null })),
    };
  }
}
