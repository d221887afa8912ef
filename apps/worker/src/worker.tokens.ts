/**
 * Injection tokens of the worker's own values. The logic classes (DeliveryProcessor,
 * FanoutProcessor, Maintenance) take one dependency object each, assembled by a factory
 * provider in their module, so their constructors stay plain to call from tests too.
 */
export const DELIVERY_DEPS = Symbol('DELIVERY_DEPS');
export const FANOUT_DEPS = Symbol('FANOUT_DEPS');
/** The direct queue's FanoutProcessor sends each batch in its job (DeliveryProcessor.deliver). */
export const INLINE_DELIVERY = Symbol('INLINE_DELIVERY');
export const MAINTENANCE_DEPS = Symbol('MAINTENANCE_DEPS');
/** This worker's Prometheus registry (never prom-client's global one). */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
/** Where the ops port listens, or false for none. */
export const OPS_OPTIONS = Symbol('OPS_OPTIONS');
