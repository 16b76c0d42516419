/** The console's pages besides the overview, one module each: a line here registers one. */
import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { alertsPage } from './alerts-page.js';
import { findingsPage } from './findings-page.js';
import { fleetPage } from './fleet-page.js';
import { schoolPage } from './school-page.js';
import { wallPage } from './wall-page.js';

export const CONSOLE_PAGES: ((app: FastifyInstance, ctx: CollectorContext) => void)[] = [
  schoolPage,
  findingsPage,
  alertsPage,
  fleetPage,
  wallPage,
];
