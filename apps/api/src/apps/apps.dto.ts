import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsIn, IsObject, IsOptional, IsString, Length, Matches } from 'class-validator';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PROVIDERS, type ProviderName } from '@app/providers';

export class CreateAppDto {
  @ApiProperty({ description: 'Display name of the app (tenant)', example: 'Acme Shop', minLength: 1, maxLength: 100 })
  @IsString() @Length(1, 100)
  name!: string;
}

export class CreateKeyDto {
  @ApiProperty({ description: 'What the key is for (shown in key listings)', example: 'backend sender', minLength: 1, maxLength: 100 })
  @IsString() @Length(1, 100)
  name!: string;

  @ApiProperty({
    description: '`send`: notifications; `register`: devices (embed in apps); `admin`: everything of the app',
    example: ['send'], enum: ['send', 'register', 'admin'], isArray: true, minItems: 1, maxItems: 3, uniqueItems: true,
  })
  @ArrayMinSize(1) @ArrayMaxSize(3) @ArrayUnique() @IsIn(['send', 'register', 'admin'], { each: true })
  scopes!: Array<'send' | 'register' | 'admin'>;
}

export class UpsertCredentialDto {
  @ApiProperty({ description: 'Push service the credential is for', enum: PROVIDERS, example: 'fcm' })
  @IsIn(PROVIDERS as unknown as string[])
  provider!: ProviderName;

  /** Several credentials per provider are allowed (two bundle ids, sandbox and production). */
  @ApiProperty({ description: 'Name, unique per provider within the app; posting the same provider and name replaces it', example: 'default', pattern: '^[A-Za-z0-9._-]+$', minLength: 1, maxLength: 64 })
  @IsString() @Length(1, 64) @Matches(/^[A-Za-z0-9._-]+$/, { message: 'name may contain letters, digits, ".", "_" and "-"' })
  name!: string;

  @ApiPropertyOptional({ description: 'APNs: which APNs environment the credential targets (defaults from the credential itself)', enum: ['sandbox', 'production'], example: 'production' })
  @IsOptional() @IsIn(['sandbox', 'production'])
  environment?: 'sandbox' | 'production';

  /** The provider's credential material, validated by the provider module. */
  @ApiProperty({
    description: 'Credential material, validated by the provider (docs/providers/*.md): APNs token auth {authType: "token", key, keyId, teamId, bundleId} ' +
      'or certificate {authType: "certificate", p12, passphrase | certificate, privateKey, bundleId}; FCM the service-account JSON; ' +
      'WNS the Package SID + secret or the Entra tenant + client id + secret; Web Push {subject, publicKey, privateKey}',
    type: 'object', additionalProperties: true, example: { type: 'service_account', project_id: 'acme-app', client_email: 'push@acme-app.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\n…' },
  })
  @IsObject()
  config!: Record<string, unknown>;
}
