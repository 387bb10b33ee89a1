export { ChallengeStore, type IssueRequest, type IssuedCode } from './challenges';
export { OtpCodeRegistration } from './code-registration';
export { OtpService, type OtpRequestOutcome, type RequestOtpData, type ValidateOtpData } from './otp-service';
