import { Field, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { AppSettings } from '../../config/app-settings';
import type { AuthResult } from '../../identity/sessions';
import type { RegistrationOutcome, VerificationInfo } from '../../identity/registration';
import { UserType } from './user.type';

export enum DeliveryChannel {
  EMAIL = 'EMAIL',
  SMS = 'SMS',
}
registerEnumType(DeliveryChannel, { name: 'DeliveryChannel' });

/** Mirrors an OAuth 2.0 token response (SPEC §2). */
@ObjectType('AuthPayload')
export class AuthPayload {
  @Field(() => String) accessToken!: string;
  @Field(() => String, { description: 'Always "Bearer"' }) tokenType!: string;
  @Field(() => Int, { description: 'Seconds until the access token expires' }) expiresIn!: number;
  @Field(() => Date) expiresAt!: Date;
  @Field(() => String, { nullable: true, description: 'Opaque; rotated on every refresh. Null for a participant session (client-side autologin), which cannot be renewed' })
  refreshToken!: string | null;
  @Field(() => Int, { nullable: true, description: 'Seconds until the refresh token expires; null when there is none' }) refreshExpiresIn!: number | null;
  /** Signed only when a client selects it (AuthResult.idToken). */
  private signIdToken!: () => Promise<string>;
  @Field(() => String, { description: 'OpenID Connect id token' })
  idToken(): Promise<string> {
    return this.signIdToken();
  }
  @Field(() => String) scope!: string;
  @Field(() => Boolean, { description: 'The client should show its registration form (autologin)' }) registrationRequired!: boolean;
  @Field(() => UserType) user!: UserType;

  static from(result: AuthResult, settings: AppSettings): AuthPayload {
    const { idToken, ...rest } = result;
    return Object.assign(new AuthPayload(), { ...rest, signIdToken: idToken, tokenType: 'Bearer', user: UserType.from(result.user, settings) });
  }
}

@ObjectType('Verification', { description: 'Where a verification code was sent' })
export class VerificationType {
  @Field(() => DeliveryChannel) channel!: DeliveryChannel;
  @Field(() => String, { description: 'Masked: j***@example.com, +357*****230' }) destination!: string;
  @Field(() => Int) expiresIn!: number;
  @Field(() => Date) expiresAt!: Date;

  static from(info: VerificationInfo): VerificationType {
    return Object.assign(new VerificationType(), { ...info, channel: info.channel as DeliveryChannel });
  }
}

@ObjectType('RegistrationResult')
export class RegistrationResult {
  @Field(() => UserType) user!: UserType;
  @Field(() => AuthPayload, { nullable: true, description: 'Set when the account is created and signed in' }) auth!: AuthPayload | null;
  @Field(() => VerificationType, { nullable: true, description: 'Set when a code was sent to finish with validateOtp' })
  verification!: VerificationType | null;

  static from(outcome: RegistrationOutcome, settings: AppSettings): RegistrationResult {
    return Object.assign(new RegistrationResult(), {
      user: UserType.from(outcome.user, settings),
      auth: outcome.auth && AuthPayload.from(outcome.auth, settings),
      verification: outcome.verification && VerificationType.from(outcome.verification),
    });
  }
}

@ObjectType('ImportFailure')
export class ImportFailure {
  @Field(() => Int) index!: number;
  @Field(() => String) code!: string;
  @Field(() => String) message!: string;
  @Field(() => String, { nullable: true }) field!: string | null;
}

@ObjectType('ImportResult')
export class ImportResult {
  @Field(() => Int) imported!: number;
  @Field(() => [ImportFailure]) failed!: ImportFailure[];
}
