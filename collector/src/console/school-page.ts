/** The console's school page (to be written). */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

export function schoolPage(_app: FastifyInstance, _ctx: CollectorContext): void {}
