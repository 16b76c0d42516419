/** The languages a term report is written in. */
export type Lang = 'zh' | 'en';
