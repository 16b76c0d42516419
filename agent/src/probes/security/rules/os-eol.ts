// The end-of-life table behind host-os-eol: when free security updates end for the OS releases schools run.

const DAY_MS = 86_400_000;

export interface OsEol {
  /** e.g. "Debian 11", "Windows 10 22H2". */
  product: string;
  /** End of (free) security support, YYYY-MM-DD. */
  eol: string;
}

// Debian: end of Debian LTS (the last free security updates), from distro-info-data's debian.csv
// column eol-lts (https://wiki.debian.org/LTS).
const DEBIAN_EOL: Record<string, string> = {
  '7': '2018-05-31',
  '8': '2020-06-30',
  '9': '2022-06-30',
  '10': '2024-06-30',
  '11': '2026-08-31',
  '12': '2028-06-30',
  '13': '2030-06-30',
};
// Ubuntu: end of standard support, from distro-info-data's ubuntu.csv column eol
// (https://wiki.ubuntu.com/Releases, https://ubuntu.com/about/release-cycle); ESM is paid.
const UBUNTU_EOL: Record<string, string> = {
  '12.04': '2017-04-28',
  '14.04': '2019-04-25',
  '16.04': '2021-04-30',
  '18.04': '2023-05-31',
  '20.04': '2025-05-29',
  '22.04': '2027-06-01',
  '22.10': '2023-07-20',
  '23.04': '2024-01-25',
  '23.10': '2024-07-11',
  '24.04': '2029-05-31',
  '24.10': '2025-07-10',
  '25.04': '2026-01-15',
  '25.10': '2026-07-09',
  '26.04': '2031-05-29',
};
// CentOS: https://www.centos.org/centos-linux-eol/ and https://www.centos.org/cl-vs-cs/ (Stream).
const CENTOS_EOL: Record<string, string> = { '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' };
const CENTOS_STREAM_EOL: Record<string, string> = { '8': '2024-05-31', '9': '2027-05-31' };
// Windows by build number, Home/Pro servicing end (Enterprise/Education editions often run longer):
// Microsoft Lifecycle, https://learn.microsoft.com/lifecycle/products/windows-10-home-and-pro,
// …/windows-11-home-and-pro, …/windows-7, …/windows-81, and the Windows Server product pages.
const WINDOWS_CLIENT_EOL: Array<[build: number, product: string, eol: string]> = [
  [7601, 'Windows 7', '2020-01-14'],
  [9600, 'Windows 8.1', '2023-01-10'],
  [19044, 'Windows 10 21H2', '2023-06-13'],
  [19045, 'Windows 10 22H2', '2025-10-14'],
  [22000, 'Windows 11 21H2', '2023-10-10'],
  [22621, 'Windows 11 22H2', '2024-10-08'],
  [22631, 'Windows 11 23H2', '2025-11-11'],
  [26100, 'Windows 11 24H2', '2026-10-13'],
  [26200, 'Windows 11 25H2', '2027-10-12'],
];
const WINDOWS_SERVER_EOL: Array<[build: number, product: string, eol: string]> = [
  [7601, 'Windows Server 2008 R2', '2020-01-14'],
  [9200, 'Windows Server 2012', '2023-10-10'],
  [9600, 'Windows Server 2012 R2', '2023-10-10'],
  [14393, 'Windows Server 2016', '2027-01-12'],
  [17763, 'Windows Server 2019', '2029-01-09'],
  [20348, 'Windows Server 2022', '2031-10-14'],
  [26100, 'Windows Server 2025', '2034-10-10'],
];

/** The end-of-life date of an OS as systeminformation's osInfo() names it, or undefined when unknown. */
export function osEndOfLife(os: { distro: string; release: string; build?: string }): OsEol | undefined {
  const distro = os.distro.toLowerCase();
  const release = os.release.trim();
  if (distro.includes('debian')) {
    const major = /^(\d+)/.exec(release)?.[1];
    const eol = major !== undefined ? DEBIAN_EOL[major] : undefined;
    return eol && major ? { product: `Debian ${major}`, eol } : undefined;
  }
  if (distro.includes('ubuntu')) {
    const v = /^(\d+\.\d+)/.exec(release)?.[1];
    const eol = v !== undefined ? UBUNTU_EOL[v] : undefined;
    return eol && v ? { product: `Ubuntu ${v}`, eol } : undefined;
  }
  if (distro.includes('centos')) {
    const major = /^(\d+)/.exec(release)?.[1];
    if (major === undefined) return undefined;
    const stream = distro.includes('stream');
    const eol = (stream ? CENTOS_STREAM_EOL : CENTOS_EOL)[major];
    return eol ? { product: `CentOS ${stream ? 'Stream ' : ''}${major}`, eol } : undefined;
  }
  if (distro.includes('windows')) {
    // LTSC/LTSB editions have their own, longer lifecycles: not in this table.
    if (/\blts[bc]\b/.test(distro)) return undefined;
    const build = Number(os.build || /^\d+\.\d+\.(\d+)/.exec(release)?.[1] || Number.NaN);
    if (!Number.isFinite(build)) return undefined;
    const table = distro.includes('server') ? WINDOWS_SERVER_EOL : WINDOWS_CLIENT_EOL;
    const row = table.find(([b]) => b === build);
    if (row) return { product: row[1], eol: row[2] };
    // An older Windows 10 feature update (before 21H2): all of them are out of support.
    if (!distro.includes('server') && build >= 10240 && build < 19044)
      return { product: `Windows 10 build ${build}`, eol: '2023-06-13' };
    return undefined;
  }
  return undefined;
}

/** Days from the EOL date to `now` (positive = past end of life). */
export function daysPastEol(eol: string, now: Date): number {
  return Math.floor((now.getTime() - Date.parse(`${eol}T00:00:00Z`)) / DAY_MS);
}
