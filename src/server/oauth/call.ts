import type { EntityManager } from '@mikro-orm/core';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenInspection } from '../../identity/token-inspection';
import type { Services } from '../../services';
import type { RequestInfo } from '../http-util';
import type { Params } from './protocol';

/** One OAuth request as every endpoint gets it from the route helper in index.ts. */
export interface OAuthCall {
  services: Services;
  inspection: TokenInspection;
  /** This request's EntityManager (a fork). */
  em: EntityManager;
  req: IncomingMessage;
  res: ServerResponse;
  info: RequestInfo;
  /** The form or JSON body's parameters (empty for GET). */
  params: Params;
}
