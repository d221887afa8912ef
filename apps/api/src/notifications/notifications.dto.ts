import { Type } from 'class-transformer';
import {
  ArrayMaxSize, ArrayMinSize, Equals, IsArray, IsBoolean, IsDateString, IsDefined, IsIn, IsInt, IsObject, IsOptional, IsString,
  IsUrl, IsUUID, Length, Max, Min, ValidateNested,
} from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PROVIDERS, type ProviderName } from '@app/providers';
import { IsStringMap } from '../core/validation';

/** FCM's documented maximum, also the longest any service keeps a message. */
export const MAX_TTL_SECONDS = 2_419_200;

export class RawTokenDto {
  @ApiProperty({ description: 'Push service of the token', enum: PROVIDERS, example: 'apns' })
  @IsIn(PROVIDERS as unknown as string[])
  provider!: ProviderName;

  /** Same shape as at device registration. */
  @ApiProperty({
    description: 'Same shape as at device registration: a string, or a Web Push subscription object',
    example: '7c4f0b8e1a2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccd',
    oneOf: [{ type: 'string' }, { type: 'object', properties: { endpoint: { type: 'string', format: 'uri' }, keys: { type: 'object', properties: { p256dh: { type: 'string' }, auth: { type: 'string' } } } } }],
  })
  @IsDefined()
  token!: unknown;

  @ApiPropertyOptional({ description: 'APNs only: the token\'s APNs environment (default production)', enum: ['sandbox', 'production'], example: 'production' })
  @IsOptional() @IsIn(['sandbox', 'production'])
  environment?: 'sandbox' | 'production';
}

export class TargetsDto {
  /** Every active device of the app. */
  @ApiPropertyOptional({ description: 'Every active device of the app', enum: [true], example: true })
  @IsOptional() @Equals(true, { message: 'all must be true when present' })
  all?: true;

  @ApiPropertyOptional({ description: 'Registered device ids', type: [String], format: 'uuid', example: ['6f1c1e0a-3b9e-4c55-9a52-0d8e5b7f4c21'] })
  @IsOptional() @IsArray() @IsUUID('4', { each: true })
  deviceIds?: string[];

  @ApiPropertyOptional({ description: 'Every active device of these users', type: [String], example: ['user-42'] })
  @IsOptional() @IsArray() @IsString({ each: true }) @Length(1, 256, { each: true })
  userIds?: string[];

  @ApiPropertyOptional({ description: 'Every active device with any of these tags', type: [String], example: ['beta'] })
  @IsOptional() @IsArray() @IsString({ each: true }) @Length(1, 64, { each: true })
  tags?: string[];

  /** Raw provider tokens, for callers that keep their own registry. */
  @ApiPropertyOptional({ description: 'Raw provider tokens, for callers that keep their own registry', type: [RawTokenDto] })
  @IsOptional() @IsArray() @ValidateNested({ each: true }) @Type(() => RawTokenDto)
  tokens?: RawTokenDto[];
}

export class SendNotificationDto {
  @ApiProperty({ description: 'Who receives it: combine any of the selectors (at most MAX_TARGETS_PER_REQUEST explicit targets); duplicates are sent once', type: () => TargetsDto })
  @IsDefined() @ValidateNested() @Type(() => TargetsDto)
  targets!: TargetsDto;

  @ApiPropertyOptional({ description: 'Title shown to the user', example: 'Your order has shipped', maxLength: 256 })
  @IsOptional() @IsString() @Length(1, 256)
  title?: string;

  @ApiPropertyOptional({ description: 'Subtitle (APNs; appended to the title elsewhere)', example: 'Order #1042', maxLength: 256 })
  @IsOptional() @IsString() @Length(1, 256)
  subtitle?: string;

  @ApiPropertyOptional({ description: 'Body text', example: 'It arrives on Thursday.', maxLength: 4000 })
  @IsOptional() @IsString() @Length(1, 4000)
  body?: string;

  /** String values only (FCM and Web Push carry strings); 100 keys, 4 KB at most. */
  @ApiPropertyOptional({ description: 'Custom key/value data delivered to the app: string values only, 100 keys and 4 KB at most', type: 'object', additionalProperties: { type: 'string' }, example: { orderId: '1042' } })
  @IsOptional() @IsStringMap(100, 4096)
  data?: Record<string, string>;

  @ApiPropertyOptional({ description: 'HTTPS URL of an image shown with the notification where the platform supports it', format: 'uri', example: 'https://cdn.example.com/parcel.png' })
  @IsOptional() @IsUrl({ protocols: ['https'], require_protocol: true }) @Length(1, 2048)
  image?: string;

  @ApiPropertyOptional({ description: 'Icon (Web Push URL, Android resource name)', example: 'ic_notification', maxLength: 2048 })
  @IsOptional() @IsString() @Length(1, 2048)
  icon?: string;

  @ApiPropertyOptional({ description: 'Sound name (`default` for the platform default)', example: 'default', maxLength: 256 })
  @IsOptional() @IsString() @Length(1, 256)
  sound?: string;

  @ApiPropertyOptional({ description: 'App icon badge count (APNs; Android where the launcher supports it)', example: 3, minimum: 0, maximum: 999999 })
  @IsOptional() @IsInt() @Min(0) @Max(999_999)
  badge?: number;

  @ApiPropertyOptional({ description: 'Notification category / click action', example: 'ORDER_UPDATE', maxLength: 64 })
  @IsOptional() @IsString() @Length(1, 64)
  category?: string;

  @ApiPropertyOptional({ description: 'Groups notifications together (APNs thread-id, Android group)', example: 'order-1042', maxLength: 64 })
  @IsOptional() @IsString() @Length(1, 64)
  threadId?: string;

  /** Replaces an undelivered earlier message with the same id (limits per service apply). */
  @ApiPropertyOptional({ description: 'Replaces an undelivered earlier message with the same id (limits per service apply)', example: 'order-1042-status', maxLength: 64 })
  @IsOptional() @IsString() @Length(1, 64)
  collapseId?: string;

  @ApiPropertyOptional({ description: 'How long the services keep trying; 0 = now or never. Nothing is delivered after it lapses', example: 86400, minimum: 0, maximum: MAX_TTL_SECONDS })
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TTL_SECONDS)
  ttlSeconds?: number;

  @ApiPropertyOptional({ description: 'Delivery priority', enum: ['high', 'normal'], example: 'high' })
  @IsOptional() @IsIn(['high', 'normal'])
  priority?: 'high' | 'normal';

  /** Background / data-only: nothing is shown to the user. */
  @ApiPropertyOptional({ description: 'Background / data-only: nothing is shown to the user', example: false })
  @IsOptional() @IsBoolean()
  silent?: boolean;

  @ApiPropertyOptional({ description: 'APNs override block merged into the generated payload (docs/providers/apns.md)', type: 'object', additionalProperties: true, example: { headers: { 'apns-push-type': 'alert' } } })
  @IsOptional() @IsObject()
  apns?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'FCM override block merged into the v1 message (docs/providers/fcm.md)', type: 'object', additionalProperties: true, example: { android: { ttl: '3600s' } } })
  @IsOptional() @IsObject()
  fcm?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'WNS override block (docs/providers/wns.md)', type: 'object', additionalProperties: true, example: { type: 'wns/toast' } })
  @IsOptional() @IsObject()
  wns?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Web Push override block (docs/providers/webpush.md)', type: 'object', additionalProperties: true, example: { urgency: 'high' } })
  @IsOptional() @IsObject()
  webpush?: Record<string, unknown>;

  /** ISO 8601 time to send at; cancellable with DELETE until it starts. */
  @ApiPropertyOptional({ description: 'ISO 8601 time to send at; cancellable with DELETE until it starts', format: 'date-time', example: '2030-01-01T09:00:00Z' })
  @IsOptional() @IsDateString({ strict: true })
  sendAt?: string;
}

export class BatchSendDto {
  /** Each item is validated on its own: one bad item does not sink the others. */
  @ApiProperty({ description: 'Up to 500 notifications, each shaped like the single send body and validated on its own', type: 'array', items: { $ref: '#/components/schemas/SendNotificationDto' }, minItems: 1, maxItems: 500 })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(500)
  notifications!: unknown[];
}

export class DeliveriesQuery {
  @ApiPropertyOptional({ description: 'Only rows with this outcome', enum: ['delivered', 'invalid_token', 'failed', 'expired', 'pending_retry'], example: 'failed' })
  @IsOptional() @IsIn(['delivered', 'invalid_token', 'failed', 'expired', 'pending_retry'])
  outcome?: 'delivered' | 'invalid_token' | 'failed' | 'expired' | 'pending_retry';

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page (a device id)', format: 'uuid' })
  @IsOptional() @IsUUID('4')
  cursor?: string;

  @ApiPropertyOptional({ description: 'Page size', minimum: 1, maximum: 1000, default: 100, example: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;
}
