import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';
import { registerDecorator, type ValidationOptions } from 'class-validator';

export interface FieldProblem {
  field: string;
  rule: string;
  message: string;
}

/** Flattens class-validator's tree into "field: rule" problems. */
export function flattenErrors(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const e of errors) {
    const field = parent ? `${parent}.${e.property}` : e.property;
    for (const [rule, message] of Object.entries(e.constraints ?? {})) {
      out.push({ field, rule: rule === 'whitelistValidation' ? 'unknownField' : rule, message: rule === 'whitelistValidation' ? `${field} is not a known field` : message });
    }
    if (e.children?.length) out.push(...flattenErrors(e.children, field));
  }
  return out;
}

export function validationException(problems: FieldProblem[]): BadRequestException {
  return new BadRequestException({
    statusCode: 400,
    error: 'Bad Request',
    message: problems.map((p) => `${p.field}: ${p.message}`).join('; '),
    details: problems,
  });
}

/** Unknown fields are rejected, types are checked, nothing is coerced silently. */
export const validationOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  validationError: { target: false, value: false },
};

export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    ...validationOptions,
    exceptionFactory: (errors) => validationException(flattenErrors(errors)),
  });
}

/** A flat map of string keys to string values, bounded in keys and total size. */
export function IsStringMap(maxKeys: number, maxBytes: number, options?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isStringMap',
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} must be an object of at most ${maxKeys} string values (${maxBytes} bytes in all)`, ...options },
      validator: {
        validate(value: unknown) {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
          const entries = Object.entries(value);
          if (entries.length > maxKeys) return false;
          if (!entries.every(([, v]) => typeof v === 'string')) return false;
          return Buffer.byteLength(JSON.stringify(value)) <= maxBytes;
        },
      },
    });
}
