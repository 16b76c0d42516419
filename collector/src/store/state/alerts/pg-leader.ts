/**
 * Which of several collectors sharing a PostgreSQL store evaluates and sends alerts: the one holding a
 * session advisory lock on a connection of its own (StateStore.alertLeadership).
 */
import { Client } from 'pg';
import type { Logger } from 'pino';

/** Advisory lock key (bigint, per database) that elects the alert leader. */
export const LEADER_LOCK_KEY = '7163412017040102';

const CONNECT_TIMEOUT_MS = 10_000;
const LEADER_QUERY_TIMEOUT_MS = 10_000;

interface LeaderConnection {
  client: Client;
  held: boolean;
  broken: boolean;
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class PgAlertLeader {
  private closed = false;
  /** The connection holding (or trying for) the leader lock, and whether it holds it. */
  private leader: LeaderConnection | undefined;
  /** Calls of alertLeadership run one after another (one connection, one answer at a time). */
  private leadership: Promise<boolean> = Promise.resolve(false);

  constructor(
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  /** See StateStore.alertLeadership. */
  alertLeadership(): Promise<boolean> {
    const next = this.leadership.catch(() => false).then(() => this.lead());
    this.leadership = next;
    return next;
  }

  private async lead(): Promise<boolean> {
    if (this.closed) return false;
    let leader = this.leader;
    if (leader?.broken) {
      this.leader = undefined;
      await leader.client.end().catch(() => undefined);
      leader = undefined;
    }
    if (leader === undefined) {
      leader = await this.connect();
      if (leader === undefined) return false;
    }
    try {
      if (leader.held) {
        // the lock lives as long as the session: a round trip shows the session (and so the lock) is still there
        await leader.client.query('SELECT 1');
        if (!leader.broken) return true;
      } else {
        const { rows } = await leader.client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1::bigint) AS locked',
          [LEADER_LOCK_KEY],
        );
        leader.held = rows[0]?.locked === true;
        if (leader.held) this.log?.info('postgres: this collector is now the alert leader');
        return leader.held && !leader.broken;
      }
    } catch (err) {
      this.lost(leader, err);
      // end the session now (not on the next call), so that a lock it might still hold goes to a standby;
      // not awaited: over a broken network the goodbye can take as long as TCP does
      if (this.leader === leader) this.leader = undefined;
      void leader.client.end().catch(() => undefined);
    }
    return false;
  }

  private async connect(): Promise<LeaderConnection | undefined> {
    const client = new Client({
      connectionString: this.url,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: LEADER_QUERY_TIMEOUT_MS,
      application_name: 'campuswatch-alert-leader',
    });
    const leader: LeaderConnection = { client, held: false, broken: false };
    client.on('error', (err) => this.lost(leader, err));
    client.on('end', () => this.lost(leader, new Error('connection ended')));
    try {
      await client.connect();
    } catch (err) {
      leader.broken = true;
      this.log?.warn({ err: errorMessage(err) }, 'postgres: cannot connect for the alert leader lock');
      await client.end().catch(() => undefined);
      return undefined;
    }
    try {
      // The server frees the lock when it notices the session is gone: at once when the collector's
      // process dies (the kernel closes its socket), but after a host loss or a partition only through TCP
      // keepalive, by default after hours. On this session: probe after 30 s idle, give up ~60 s later.
      await client.query(
        'SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3; SET tcp_user_timeout = 60000',
      );
    } catch (err) {
      this.lost(leader, err);
      await client.end().catch(() => undefined);
      return undefined;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.leader = leader;
    return leader;
  }

  /** The leader connection failed or ended: whatever it held is gone; the next call connects again. */
  private lost(leader: LeaderConnection, err: unknown): void {
    if (leader.broken) return;
    const wasHeld = leader.held;
    leader.broken = true;
    leader.held = false;
    if (this.closed) return;
    this.log?.warn(
      { err: errorMessage(err), wasLeader: wasHeld },
      'postgres: alert leader connection lost; trying again on the next evaluation',
    );
  }

  /** Ends the leader session (which releases the lock at once); later calls answer false. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.leadership.catch(() => false);
    const leader = this.leader;
    this.leader = undefined;
    if (leader) {
      leader.broken = true;
      leader.held = false;
      await leader.client.end().catch(() => undefined);
    }
  }
}
