import { InvalidArgumentError, Option, type Command } from 'commander';

// What the command definitions use. It loads nothing but commander: building the whole command tree,
// as `correx --help` and the choice of the command to run do, stays cheap. What a command does lives
// in the `*-actions.ts` modules, imported only when that command runs (`lazy`).

/**
 * A command's action, loaded when the command runs: `lazy(async () => (await import('./x-actions.js')).run)`.
 * The actions' modules import zod, the API client, the database drivers and the rest.
 */
export function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => unknown>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const action = await load();
    await action(...args);
  };
}

/** Adds --server, --token, --profile and --json (after the command's own options, so its help lists those first). */
export function withApi(command: Command): Command {
  return command
    .addOption(new Option('--json', "print the API's JSON response (for scripts)"))
    .addOption(new Option('--server <url>', 'Correx API URL (default: $CORREX_SERVER, the profile, else local mode)'))
    .addOption(new Option('--token <token>', 'API token (default: $CORREX_TOKEN, the profile, else local mode)'))
    .addOption(
      new Option('--profile <name>', 'profile in the config file ($CORREX_CONFIG or ~/.config/correx/config.json; default: $CORREX_PROFILE, else default)'),
    );
}

/**
 * An option that takes several of `choices`, comma-separated: its help lists them, and a value that
 * is not one of them is a usage error naming them, as `.choices()` makes it for a single value.
 */
export function commaSeparatedChoices(option: Option, choices: readonly string[]): Option {
  return option.choices(choices).argParser((value: string) => {
    if (value.split(',').some((item) => item.trim() !== '' && !choices.includes(item.trim())))
      throw new InvalidArgumentError(`Allowed choices are ${choices.join(', ')} (comma-separated).`);
    return value;
  });
}

/** Commander's accumulator for options that may be given several times. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/**
 * A command group (`correx incident …`) whose usage errors are one line on stderr, like every
 * other error of the CLI. Subcommands created with `.command()` inherit this.
 */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .showHelpAfterError(false)
    .configureOutput({
      outputError: (message, write) => write(`correx: ${oneLine(message.replace(/^error:\s*/, ''))} (run with --help for usage)\n`),
    });
}
