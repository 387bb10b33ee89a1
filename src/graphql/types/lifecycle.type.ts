import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import type { SecurityEvent as SecurityEventEntity, Session as SessionEntity } from '../../db/entities';
import type { ContactChangeOutcome } from '../../identity/lifecycle';
import { DeliveryChannel } from './auth.type';
import { PageInfo } from './lookup.type';

@ObjectType('ContactChangeRequest', { description: 'A code went to the new address; confirmContactChange(code) applies the change' })
export class ContactChangeRequest {
  @Field(() => Boolean) sent!: boolean;
  @Field(() => DeliveryChannel) channel!: DeliveryChannel;
  @Field(() => String, { description: 'The new address, masked: j***@example.com, +357*****230' }) destination!: string;
  @Field(() => Int, { description: 'Seconds the code stays valid' }) expiresIn!: number;
  @Field(() => Date) expiresAt!: Date;
  @Field(() => Int, { description: 'Seconds before a new code can be asked for' }) resendAfter!: number;

  static from(outcome: ContactChangeOutcome): ContactChangeRequest {
    return Object.assign(new ContactChangeRequest(), { ...outcome, channel: outcome.channel as DeliveryChannel });
  }
}

@ObjectType('Session', { description: 'A signed-in session of the customer (one refresh-token family)' })
export class SessionType {
  @Field(() => ID) id!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { description: 'The last sign-in or refresh of this session' }) lastUsedAt!: Date;
  @Field(() => Date) expiresAt!: Date;
  @Field(() => String, { nullable: true, description: 'Client address at sign-in' }) ip!: string | null;
  @Field(() => String, { nullable: true }) userAgent!: string | null;
  @Field(() => Boolean, { description: 'The session of the token making this request' }) current!: boolean;

  static from(session: SessionEntity, currentId: string): SessionType {
    return Object.assign(new SessionType(), {
      id: session.id,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt ?? session.createdAt,
      expiresAt: session.expiresAt,
      ip: session.ip ?? null,
      userAgent: session.userAgent ?? null,
      current: session.id === currentId,
    });
  }
}

@ObjectType('SecurityEvent', { description: 'Something that happened to a customer account (SPEC §4.10); never carries secrets' })
export class SecurityEventType {
  @Field(() => ID, { description: 'Also the webhook payload id: de-duplicate deliveries by it' }) id!: string;
  @Field(() => String, {
    description:
      'user.signed_up, login.succeeded, login.failed, login.locked, password.changed, password.reset, email.changed, phone.changed, identity.linked, identity.unlinked, user.suspended, user.reinstated, user.deleted, refresh_token.reused',
  })
  type!: string;
  @Field(() => ID, { nullable: true, description: 'Null for a failed sign-in on an unknown email or phone' }) userId!: string | null;
  @Field(() => String, { nullable: true }) ip!: string | null;
  @Field(() => Date) at!: Date;
  @Field(() => GraphQLJSONObject, { description: 'Type-specific facts (reason, sessionId, by, verified…)' }) detail!: Record<string, unknown>;

  static from(event: SecurityEventEntity): SecurityEventType {
    return Object.assign(new SecurityEventType(), { id: event.id, type: event.type, userId: event.userId ?? null, ip: event.ip ?? null, at: event.at, detail: event.detail });
  }
}

@ObjectType('SecurityEventEdge')
export class SecurityEventEdge {
  @Field(() => String) cursor!: string;
  @Field(() => SecurityEventType) node!: SecurityEventType;
}

@ObjectType('SecurityEventConnection')
export class SecurityEventConnection {
  @Field(() => [SecurityEventEdge]) edges!: SecurityEventEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}
