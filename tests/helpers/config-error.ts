import { ConfigError } from '../../protocol/config-file.js';

/** The ConfigError a load throws (anything else is rethrown; a load that succeeds fails the test). */
export function errorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}
