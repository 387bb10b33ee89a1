import { Field, Int, ObjectType } from 'type-graphql';
import { UserType } from './user.type';

@ObjectType('IdentityCheck', { description: 'Whether an email or phone number already has an account in this app' })
export class IdentityCheck {
  @Field(() => Boolean) exists!: boolean;
  @Field(() => Boolean, { description: 'The account was created through a social login' }) isSocial!: boolean;
}

@ObjectType('UserEdge')
export class UserEdge {
  @Field(() => String) cursor!: string;
  @Field(() => UserType) node!: UserType;
}

@ObjectType('PageInfo')
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType('UserConnection')
export class UserConnection {
  @Field(() => [UserEdge]) edges!: UserEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}
