declare const __WARDCAST_CLI_VERSION__: string | undefined;

/**
 * Version of `@wardcast/cli`, as `wardcast --version` prints it.
 *
 * @category CLI
 */
export const VERSION: string =
  typeof __WARDCAST_CLI_VERSION__ === 'string' ? __WARDCAST_CLI_VERSION__ : '0.0.0-development';
