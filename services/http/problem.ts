import type { FastifyReply } from 'fastify';
import type { z } from 'zod';
import { InvalidInput } from '../errors.js';

/** RFC 9457 problem details; `errors` lists each failing field as `{ path, message }`. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({ type: problem.type ?? 'about:blank', ...problem });
}

/** Parses one part of a request (`body`, `query`, `params`) or throws a 400 naming each bad field. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, part: 'body' | 'query' | 'params'): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw InvalidInput.fromZod(parsed.error, [part]);
}
