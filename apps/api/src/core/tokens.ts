/** Injection tokens for values that are not classes. */
export const CONFIG = Symbol('CONFIG');
export const DB = Symbol('DB');
export const PROVIDERS_MAP = Symbol('PROVIDERS_MAP');
