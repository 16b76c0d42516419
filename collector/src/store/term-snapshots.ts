/**
 * Term snapshots (the inspection report, 督导通报): what a district's schools and KPIs were at the end of a
 * term, frozen in the state store. One per term and district, written once and never changed: a second
 * collector (or a second `snapshot take`) that tries to write one that exists writes nothing — the
 * table's primary key and an insert-or-ignore decide, not a read before the write — and the tables refuse
 * UPDATE and DELETE (triggers). Both stores (sqlite-snapshots.ts, pg-snapshots.ts) keep the body as JSON
 * text beside the columns a listing reads.
 */
import type { TermSnapshot } from '../term-report/snapshot-model.js';

/** A snapshot without its body: what a listing shows. */
export type TermSnapshotHead = Pick<
  TermSnapshot,
  'term' | 'district' | 'from' | 'to' | 'takenAt' | 'takenBy' | 'trigger'
> & { schools: number };

export interface TermSnapshotStore {
  /**
   * Stores a snapshot unless one of its term and district exists (then nothing changes): true when this
   * call stored it. Atomic across collectors sharing the store.
   */
  saveSnapshot(snapshot: TermSnapshot): Promise<boolean>;
  /** The snapshot of a term and district (null: the schools without a district). */
  snapshot(term: string, district: string | null): Promise<TermSnapshot | undefined>;
  /** Every district's snapshot of a term, by district. */
  snapshotsOfTerm(term: string): Promise<TermSnapshot[]>;
  /** Every snapshot's head, by term start, term and district. */
  listSnapshots(): Promise<TermSnapshotHead[]>;
  /**
   * Claims a term-end e-mail (`mail` names it: channel, district, entry): true for the first caller, false
   * ever after (on every collector of the store), so the report is mailed once.
   */
  claimTermMail(term: string, mail: string, at: Date): Promise<boolean>;
}

/** The district column of both stores: '' for the schools without a district (a primary key has no NULL). */
export const districtKey = (district: string | null): string => district ?? '';

/** A term_snapshots row as the head it holds. */
export function headOfRow(r: {
  term: string;
  district: string;
  from_day: string;
  to_day: string;
  taken_at: string;
  taken_by: string;
  trigger: string;
  schools: number | string;
}): TermSnapshotHead {
  return {
    term: r.term,
    district: r.district === '' ? null : r.district,
    from: r.from_day,
    to: r.to_day,
    takenAt: r.taken_at,
    takenBy: r.taken_by,
    trigger: r.trigger as TermSnapshot['trigger'],
    schools: Number(r.schools),
  };
}

/** The columns of a snapshot's row, in the order both stores insert them. */
export function rowValues(s: TermSnapshot): unknown[] {
  return [
    s.term,
    districtKey(s.district),
    s.from,
    s.to,
    s.takenAt,
    s.takenBy,
    s.trigger,
    s.schools.length,
    JSON.stringify(s),
  ];
}
