import { Type } from 'class-transformer';
import {
  ArrayMaxSize, IsDefined, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, Min, Validate,
  ValidatorConstraint, type ValidatorConstraintInterface,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PROVIDERS, type ProviderName } from '@app/providers';

@ValidatorConstraint({ name: 'isTimeZone' })
class IsTimeZone implements ValidatorConstraintInterface {
  validate(v: unknown): boolean {
    if (typeof v !== 'string' || v.length > 64) return false;
    try {
      new Intl.DateTimeFormat('en', { timeZone: v });
      return true;
    } catch {
      return false;
    }
  }
  defaultMessage(): string {
    return 'timezone must be an IANA time zone such as Europe/Paris';
  }
}

class DeviceAttributes {
  @ApiPropertyOptional({ description: 'Your user id, to target all devices of a user', example: 'user-42', minLength: 1, maxLength: 256 })
  @IsOptional() @IsString() @Length(1, 256)
  userId?: string;

  @ApiPropertyOptional({ description: 'Tags to target groups of devices (replaces the previous set)', example: ['beta', 'newsletter'], type: [String], maxItems: 50 })
  @IsOptional() @ArrayMaxSize(50) @IsString({ each: true }) @Length(1, 64, { each: true })
  tags?: string[];

  @ApiPropertyOptional({ description: 'BCP 47 language tag', example: 'en-GB' })
  @IsOptional() @Matches(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, { message: 'locale must be a BCP 47 tag such as en-GB' })
  locale?: string;

  @ApiPropertyOptional({ description: 'IANA time zone', example: 'Europe/Paris', maxLength: 64 })
  @IsOptional() @Validate(IsTimeZone)
  timezone?: string;

  @ApiPropertyOptional({ description: 'Version of your app on the device', example: '3.2.1', minLength: 1, maxLength: 64 })
  @IsOptional() @IsString() @Length(1, 64)
  appVersion?: string;

  /** APNs only: which APNs environment issued the token. */
  @ApiPropertyOptional({ description: 'APNs only: which APNs environment issued the token (default production)', enum: ['sandbox', 'production'], example: 'production' })
  @IsOptional() @IsIn(['sandbox', 'production'])
  environment?: 'sandbox' | 'production';
}

export class RegisterDeviceDto extends DeviceAttributes {
  @ApiProperty({ description: 'Push service of the device', enum: PROVIDERS, example: 'fcm' })
  @IsIn(PROVIDERS as unknown as string[])
  provider!: ProviderName;

  /** APNs hex token, FCM registration token, WNS channel URI, or a Web Push subscription object. */
  @ApiProperty({
    description: 'APNs hex token, FCM registration token, WNS channel URI, or a Web Push subscription object',
    example: 'dQw4w9WgXcQ:APA91bH…',
    ...{
      oneOf: [
        { type: 'string', description: 'APNs hex device token, FCM registration token, or WNS channel URI' },
        {
          type: 'object', description: 'Web Push: the browser PushSubscription (toJSON())', required: ['endpoint', 'keys'],
          properties: { endpoint: { type: 'string', format: 'uri' }, keys: { type: 'object', properties: { p256dh: { type: 'string' }, auth: { type: 'string' } } } },
        },
      ],
    },
  })
  @IsDefined()
  token!: unknown;

  /** The token this one replaces (token rotation): the device keeps its id. */
  @ApiPropertyOptional({
    description: 'The token this one replaces (token rotation): the device keeps its id',
    ...{
      oneOf: [
        { type: 'string', description: 'APNs hex device token, FCM registration token, or WNS channel URI' },
        {
          type: 'object', description: 'Web Push: the browser PushSubscription (toJSON())', required: ['endpoint', 'keys'],
          properties: { endpoint: { type: 'string', format: 'uri' }, keys: { type: 'object', properties: { p256dh: { type: 'string' }, auth: { type: 'string' } } } },
        },
      ],
    },
  })
  @IsOptional()
  previousToken?: unknown;

  /** Pin the device to one of the app's credentials of its provider. */
  @ApiPropertyOptional({ description: 'Pin the device to one of the app\'s credentials of its provider', format: 'uuid', example: '6f1c1e0a-3b9e-4c55-9a52-0d8e5b7f4c21' })
  @IsOptional() @IsUUID('4')
  credentialId?: string;
}

export class PatchDeviceDto extends DeviceAttributes {}

export class ListDevicesQuery {
  @ApiPropertyOptional({ description: 'Only devices of this user', example: 'user-42' })
  @IsOptional() @IsString() @Length(1, 256)
  userId?: string;

  @ApiPropertyOptional({ description: 'Only devices with this tag', example: 'beta' })
  @IsOptional() @IsString() @Length(1, 64)
  tag?: string;

  @ApiPropertyOptional({ description: 'Only devices of this push service', enum: PROVIDERS, example: 'apns' })
  @IsOptional() @IsIn(PROVIDERS as unknown as string[])
  provider?: string;

  @ApiPropertyOptional({ description: '`invalid`: the provider rejected the token', enum: ['active', 'invalid'], example: 'active' })
  @IsOptional() @IsIn(['active', 'invalid'])
  status?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page', format: 'uuid' })
  @IsOptional() @IsUUID('4')
  cursor?: string;

  @ApiPropertyOptional({ description: 'Page size', minimum: 1, maximum: 500, default: 100, example: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;
}
