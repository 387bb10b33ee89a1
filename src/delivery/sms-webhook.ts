import { createHmac } from 'node:crypto';
import type { OutgoingMessage, Transport } from './transport';

export const SIGNATURE_HEADER = 'x-gatehouse-signature';
export const TIMESTAMP_HEADER = 'x-gatehouse-timestamp';

/**
 * The signature an SMS webhook receiver checks:
 *   x-gatehouse-timestamp: <unix seconds>
 *   x-gatehouse-signature: sha256=<hex HMAC-SHA256(SMS_WEBHOOK_SECRET, "<timestamp>.<raw body>")>
 * The timestamp is part of the signed material, so a receiver that also refuses timestamps
 * older than a few minutes cannot be replayed a captured request. Compare in constant time.
 */
export function signWebhook(secret: string, timestamp: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
}

/**
 * SMS through the operator's HTTP webhook (SPEC §6): POST JSON `{ to, body, appId }`, signed as
 * above; any 2xx answer means accepted. The timestamp is wall time (not the injectable clock):
 * it is compared with the receiver's clock.
 */
export class SmsWebhookTransport implements Transport {
  readonly name = 'sms-webhook';

  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async deliver(message: OutgoingMessage): Promise<void> {
    const raw = JSON.stringify({ to: message.to, body: message.body, appId: message.appId });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await fetch(this.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: signWebhook(this.secret, timestamp, raw),
      },
      body: raw,
      redirect: 'error',
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new Error(`SMS webhook answered HTTP ${response.status}`);
  }
}
