import { Field, InputType } from 'type-graphql';
import { CreateUserInput } from './profile.input';

@InputType('RegisterInput', { description: 'Sign-up: with a password, with an otpCode from requestOtp, or with neither (a code is sent)' })
export class RegisterInput extends CreateUserInput {
  @Field(() => String, { nullable: true }) password?: string | null;
  @Field(() => String, { nullable: true, description: 'From requestOtp(purpose: REGISTER)' }) otpCode?: string | null;
}

@InputType('LoginInput', { description: 'Either email or phoneNumber, with the password' })
export class LoginInput {
  @Field(() => String, { nullable: true }) email?: string | null;
  @Field(() => String, { nullable: true }) phoneNumber?: string | null;
  @Field(() => String, { nullable: true }) countryCode?: string | null;
  @Field(() => String) password!: string;
  @Field(() => String, { nullable: true, description: 'Space-separated scopes for the access token' }) scope?: string | null;
}

@InputType('ImportUserInput', { description: 'A CreateUserInput row plus an existing password hash (bcrypt, argon2 or scrypt)' })
export class ImportUserInput extends CreateUserInput {
  @Field(() => String, { nullable: true }) passwordHash?: string | null;
}
