import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsIn, IsOptional, IsString, Length } from 'class-validator';
import { EVENT_TYPES, type EventType } from '@app/db';

export class CreateWebhookDto {
  /** https URL; checked against WEBHOOK_URL_ALLOWLIST (or "any public name") by checkWebhookUrl. */
  @IsString() @Length(1, 2048)
  url!: string;

  @ArrayMinSize(1) @ArrayMaxSize(EVENT_TYPES.length) @ArrayUnique() @IsIn(EVENT_TYPES as unknown as string[], { each: true })
  events!: EventType[];

  @IsOptional() @IsString() @Length(0, 200)
  description?: string;
}
