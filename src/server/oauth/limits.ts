import type { AppSettings } from '../../config/app-settings';
import type { App } from '../../db/entities';
import { AppError } from '../../errors';
import type { Services } from '../../services';
import { callLimitError } from './protocol';

/**
 * The per-IP call budget of the GraphQL operation an endpoint stands for (CallLimiter, app
 * setting `ipRateLimitPerMinute`): the password grant counts as `login`, the refresh grant as
 * `refresh`, userinfo as `me`, revocation as `logout`. One counter per operation whichever
 * door it is called through, so GraphQL plus OAuth never buys a caller twice the budget.
 * Taken once the client is known (as the shield runs before the limit), so refused calls
 * spend nothing.
 */
export async function limitCall(services: Services, tenant: { app: App; settings: AppSettings }, operation: string, ip: string): Promise<void> {
  try {
    await services.callLimits.take(tenant.app.id, operation, ip, tenant.settings.ipRateLimitPerMinute);
  } catch (error) {
    if (error instanceof AppError && error.code === 'TOO_MANY_ATTEMPTS') throw callLimitError(error);
    throw error;
  }
}
