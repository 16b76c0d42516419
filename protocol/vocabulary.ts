// The closed vocabularies of an inventory: room types and device types, with their zh-CN / en labels, and
// the "did you mean" suggestion for a word that is not in a vocabulary. Shared by the agent (its config
// check) and the collector (names and labels of rooms and devices). No dependencies: a CLI may load it cheaply.

/** A name for people: zh-CN and en. */
export interface Label {
  zh: string;
  en: string;
}

/** The built-in room types (tag `room_type`); an agent config may declare more (inventory.customRoomTypes). */
export const ROOM_TYPES = [
  'recording',
  'smart',
  'classroom',
  'lab',
  'office',
  'library',
  'core',
  'ap',
  'other',
] as const;
export type RoomType = (typeof ROOM_TYPES)[number];

export const ROOM_TYPE_LABELS: Readonly<Record<RoomType, Label>> = {
  recording: { zh: '录播室', en: 'recording room' },
  smart: { zh: '智慧教室', en: 'smart classroom' },
  classroom: { zh: '普通教室', en: 'classroom' },
  lab: { zh: '实验室/专用教室', en: 'lab or subject room' },
  office: { zh: '办公室', en: 'office' },
  library: { zh: '图书馆', en: 'library' },
  core: { zh: '核心机房', en: 'core network room' },
  ap: { zh: '无线接入', en: 'wireless access' },
  other: { zh: '其他', en: 'other' },
};

/** The built-in device types (tag `device_type`); an agent config may declare more (inventory.customDeviceTypes). */
export const DEVICE_TYPES = [
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
] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export const DEVICE_TYPE_LABELS: Readonly<Record<DeviceType, Label>> = {
  recorder: { zh: '录播主机', en: 'lecture recorder' },
  encoder: { zh: '编码器', en: 'video encoder' },
  camera: { zh: '摄像机', en: 'camera' },
  panel: { zh: '交互式平板', en: 'interactive panel' },
  projector: { zh: '投影仪', en: 'projector' },
  switch: { zh: '交换机', en: 'switch' },
  router: { zh: '路由器', en: 'router' },
  ap: { zh: '无线接入点', en: 'wireless access point' },
  server: { zh: '服务器', en: 'server' },
  nvr: { zh: '网络硬盘录像机', en: 'network video recorder' },
  pc: { zh: '计算机', en: 'computer' },
  other: { zh: '其他', en: 'other' },
};

export function isRoomType(word: string): word is RoomType {
  return (ROOM_TYPES as readonly string[]).includes(word);
}

export function isDeviceType(word: string): word is DeviceType {
  return (DEVICE_TYPES as readonly string[]).includes(word);
}

/**
 * The edit distance of two words, case-insensitive, counted in code points: insertions, deletions,
 * substitutions and transpositions of two neighbours each cost 1 (optimal string alignment, the restricted
 * Damerau-Levenshtein distance: no substring is edited twice).
 */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a.toLowerCase());
  const t = Array.from(b.toLowerCase());
  // Three rows of the (|s|+1) × (|t|+1) table: two back (for transpositions), one back, this one.
  let twoBack: number[] = [];
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        d = Math.min(d, (twoBack[j - 2] ?? 0) + 1);
      }
      row.push(d);
    }
    twoBack = prev;
    prev = row;
  }
  return prev[t.length] ?? 0;
}

/**
 * The known word the user probably meant, or undefined when none is close: the nearest by
 * {@link editDistance} (the first of equals, in the order given) if that distance is at most 2, or at most a
 * third of the word's length for long words, and smaller than both words' lengths (so that "xy" does not
 * suggest "ap": replacing every letter is not a typo).
 */
export function suggest(word: string, known: readonly string[]): string | undefined {
  const length = Array.from(word).length;
  const limit = Math.max(2, Math.floor(length / 3));
  let best: { word: string; distance: number } | undefined;
  for (const k of known) {
    const distance = editDistance(word, k);
    if (distance > limit || distance >= Math.min(length, Array.from(k).length)) continue;
    if (best === undefined || distance < best.distance) best = { word: k, distance };
  }
  return best?.word;
}

/**
 * `unknown room type "recroding" (did you mean "recording"?)`, or when nothing is close
 * `unknown room type "xyz" (known: recording, smart, …; <hint>)`.
 */
export function unknownWordMessage(
  what: string,
  word: string,
  known: readonly string[],
  hint: string,
): string {
  const meant = suggest(word, known);
  return meant !== undefined
    ? `unknown ${what} ${JSON.stringify(word)} (did you mean ${JSON.stringify(meant)}?)`
    : `unknown ${what} ${JSON.stringify(word)} (known: ${known.join(', ')}; ${hint})`;
}
