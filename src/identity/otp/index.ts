export { ChallengeStore, type IssueRequest, type IssuedCode } from './challenges';
export { OTP_LIMITS } from './codes';
export { OtpCodeRegistration } from './code-registration';
export { maskEmail, maskPhone } from './mask';
export { OtpService, type OtpRequestOutcome, type RequestOtpData, type ValidateOtpData } from './otp-service';
