import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEVICE_TYPES as AGENT_DEVICE_TYPES } from '../../agent/src/config.js';
import {
  DEVICE_TYPE_LABELS,
  DEVICE_TYPES,
  editDistance,
  isDeviceType,
  isRoomType,
  ROOM_TYPE_LABELS,
  ROOM_TYPES,
  suggest,
  unknownWordMessage,
} from '../../protocol/vocabulary.js';

const ALL_TYPES = [...new Set<string>([...ROOM_TYPES, ...DEVICE_TYPES])];

describe('room and device types', () => {
  it('cover the room_type and device_type tags and keep every device type the agent had; the agent re-exports the same list', () => {
    for (const t of ['recording', 'smart', 'classroom', 'core', 'ap', 'lab', 'office', 'other'])
      expect(isRoomType(t), t).toBe(true);
    expect([...DEVICE_TYPES].sort()).toEqual(
      [
        'recorder',
        'encoder',
        'camera',
        'panel',
        'projector',
        'switch',
        'router',
        'ap',
        'server',
        'nvr',
        'pc',
        'other',
      ].sort(),
    );
    expect(AGENT_DEVICE_TYPES).toBe(DEVICE_TYPES);
    expect(isDeviceType('recoder')).toBe(false);
    expect(isRoomType('Recording')).toBe(false);
  });

  it('every type has a zh-CN and an en label, and no label is shared by two types', () => {
    for (const [types, labels] of [
      [ROOM_TYPES, ROOM_TYPE_LABELS],
      [DEVICE_TYPES, DEVICE_TYPE_LABELS],
    ] as const) {
      expect(Object.keys(labels).sort()).toEqual([...types].sort());
      const values = Object.values(labels);
      for (const l of values) {
        expect(l.zh).toMatch(/[\u4e00-\u9fff]/);
        expect(l.en).toMatch(/^[a-z][a-z ]*$/);
      }
      expect(new Set(values.map((l) => l.zh)).size).toBe(values.length);
      expect(new Set(values.map((l) => l.en)).size).toBe(values.length);
    }
    expect(ROOM_TYPE_LABELS.recording.zh).toBe('录播室');
    expect(ROOM_TYPE_LABELS.smart.zh).toBe('智慧教室');
  });
});

describe('editDistance (optimal string alignment, case-insensitive, code points)', () => {
  it.each([
    ['recording', 'recording', 0],
    ['Recording', 'recording', 0],
    ['recroding', 'recording', 1], // transposition
    ['recoder', 'recorder', 1], // deletion
    ['recorderr', 'recorder', 1], // insertion
    ['camara', 'camera', 1], // substitution
    ['ca', 'abc', 3], // OSA, not unrestricted Damerau (which would say 2)
    ['', 'ap', 2],
    ['xyz', 'ap', 3],
    ['报告厅', '报告室', 1],
    ['😀a', 'a😀', 1], // astral characters count once
  ])('%s ↔ %s = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  const word = fc.string({ maxLength: 12 });
  it('is 0 exactly for equal words (ignoring case), symmetric, and within [|len a − len b|, max len]', () => {
    fc.assert(
      fc.property(word, word, (a, b) => {
        const d = editDistance(a, b);
        const la = Array.from(a.toLowerCase()).length;
        const lb = Array.from(b.toLowerCase()).length;
        expect(d).toBe(editDistance(b, a));
        expect(d === 0).toBe(a.toLowerCase() === b.toLowerCase());
        expect(d).toBeGreaterThanOrEqual(Math.abs(la - lb));
        expect(d).toBeLessThanOrEqual(Math.max(la, lb));
      }),
    );
  });

  it('one edit (insert, delete, substitute, swap neighbours) is distance at most 1', () => {
    const edited = fc
      .tuple(
        fc.constantFrom(...ALL_TYPES),
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'substitute', 'swap'),
        fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
      )
      .map(([w, n, op, ch]) => {
        const i = n % w.length;
        if (op === 'insert') return [w, w.slice(0, i) + ch + w.slice(i)] as const;
        if (op === 'delete') return [w, w.slice(0, i) + w.slice(i + 1)] as const;
        if (op === 'substitute') return [w, w.slice(0, i) + ch + w.slice(i + 1)] as const;
        const j = Math.min(i, w.length - 2);
        return [w, w.slice(0, j) + w[j + 1] + w[j] + w.slice(j + 2)] as const;
      });
    fc.assert(
      fc.property(edited, ([w, typo]) => {
        expect(editDistance(w, typo)).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('suggest', () => {
  it.each([
    ['recroding', ROOM_TYPES, 'recording'],
    ['Recording', ROOM_TYPES, 'recording'],
    ['smrat', ROOM_TYPES, 'smart'],
    ['classrom', ROOM_TYPES, 'classroom'],
    ['labs', ROOM_TYPES, 'lab'],
    ['libary', ROOM_TYPES, 'library'],
    ['xyz', ROOM_TYPES, undefined],
    ['AP', ROOM_TYPES, 'ap'],
    ['recoder', DEVICE_TYPES, 'recorder'],
    ['swtich', DEVICE_TYPES, 'switch'],
    ['projecter', DEVICE_TYPES, 'projector'],
    ['camra', DEVICE_TYPES, 'camera'],
    ['nrv', DEVICE_TYPES, 'nvr'],
    ['xy', DEVICE_TYPES, undefined], // 2 from "ap" and "pc", but every letter replaced is no typo
    ['whiteboard', DEVICE_TYPES, undefined],
    ['interactive-panel', DEVICE_TYPES, undefined],
    ['报告厅', ['报告室', '体育馆'], '报告室'],
    ['recordingroom', ['recording', 'classroom'], 'recording'], // 4 away: a third of 13 letters
    ['recordingrooms', ['recording', 'classroom'], undefined], // 5 away: more than a third of 14
    ['anything', [], undefined],
  ] as [string, readonly string[], string | undefined][])('%s in %j → %s', (word, known, expected) => {
    expect(suggest(word, known)).toBe(expected);
  });

  it('long words get a third of their length: distance 3 is suggested from 9 letters on, not below', () => {
    expect(suggest('xxxording', ['recording'])).toBe('recording'); // 9 letters, 3 away
    expect(suggest('xxxordin', ['recordin'])).toBeUndefined(); // 8 letters, 3 away
  });

  const known = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 10 }), { maxLength: 8 });
  it('answers the nearest known word within the limit, or nothing; a known word suggests itself', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), known, (word, list) => {
        const s = suggest(word, list);
        if (s !== undefined) {
          expect(list).toContain(s);
          const d = editDistance(word, s);
          for (const k of list) expect(editDistance(word, k)).toBeGreaterThanOrEqual(d);
          expect(d).toBeLessThanOrEqual(Math.max(2, Math.floor(Array.from(word).length / 3)));
        }
        const first = list[0];
        if (first !== undefined) expect(suggest(first, list)).toBe(first);
      }),
    );
  });

  it('a built-in type with one typo in it (3 letters or more) suggests a type at most 1 away', () => {
    const typo = fc
      .tuple(
        fc.constantFrom(...ALL_TYPES.filter((t) => t.length >= 3)),
        fc.nat(),
        fc.constantFrom('insert', 'delete', 'substitute', 'swap'),
        fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'),
      )
      .map(([w, n, op, ch]) => {
        const i = n % w.length;
        if (op === 'insert') return w.slice(0, i) + ch + w.slice(i);
        if (op === 'delete') return w.slice(0, i) + w.slice(i + 1);
        if (op === 'substitute') return w.slice(0, i) + ch + w.slice(i + 1);
        const j = Math.min(i, w.length - 2);
        return w.slice(0, j) + w[j + 1] + w[j] + w.slice(j + 2);
      });
    fc.assert(
      fc.property(typo, (t) => {
        const known = [...ROOM_TYPES, ...DEVICE_TYPES];
        const s = suggest(t, known);
        expect(s, t).toBeDefined();
        expect(editDistance(t, s ?? '')).toBeLessThanOrEqual(1);
      }),
    );
  });
});

describe('unknownWordMessage', () => {
  it('suggests the nearest, or lists the known words and the hint', () => {
    expect(unknownWordMessage('room type', 'recroding', ROOM_TYPES, 'declare custom ones')).toBe(
      'unknown room type "recroding" (did you mean "recording"?)',
    );
    expect(unknownWordMessage('room type', 'xyz', ['recording', 'smart'], 'declare custom ones')).toBe(
      'unknown room type "xyz" (known: recording, smart; declare custom ones)',
    );
  });
});
