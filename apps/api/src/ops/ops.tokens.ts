/** Injection tokens of the operations module. */
export const API_METRICS = Symbol('API_METRICS');
export const OPS_CONFIG = Symbol('OPS_CONFIG');
