/** The console's wall page (to be written). */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

export function wallPage(_app: FastifyInstance, _ctx: CollectorContext): void {}
