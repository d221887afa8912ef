// http_ece ships no types; only what the Web Push stand-in uses is declared.
declare module 'http_ece' {
  import type { ECDH } from 'node:crypto';
  interface EceParams {
    version?: 'aes128gcm' | 'aesgcm';
    privateKey?: ECDH;
    dh?: string | Buffer;
    authSecret?: string | Buffer;
    salt?: string | Buffer;
    rs?: number;
  }
  export function decrypt(buffer: Buffer, params: EceParams): Buffer;
  export function encrypt(buffer: Buffer, params: EceParams): Buffer;
}
