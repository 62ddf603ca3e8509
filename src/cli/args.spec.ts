import { parseCliArgs } from './args.js';
import { CliError } from './cli.errors.js';

/** The usage error's message for `argv` (exit 1, ERR_USAGE). */
function refused(argv: string[]): string {
  try {
    parseCliArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'ERR_USAGE', exitCode: 1 });
    return (error as CliError).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('parseCliArgs', () => {
  it('reads each command with its defaults', () => {
    expect(parseCliArgs(['members'])).toEqual({
      command: { name: 'members' },
      json: false,
      timeoutMs: 5_000,
      seeds: [],
    });
    expect(parseCliArgs(['members', '--node', 'b@h']).command).toEqual({
      name: 'members',
      node: 'b@h',
    });
    expect(parseCliArgs(['ping', 'b@h']).command).toEqual({ name: 'ping', node: 'b@h', count: 3 });
    expect(parseCliArgs(['ping', 'b@h', '--count', '7']).command).toMatchObject({ count: 7 });
    expect(parseCliArgs(['info', 'b@h']).command).toEqual({ name: 'info', node: 'b@h' });
    expect(parseCliArgs(['names']).command).toEqual({ name: 'names', host: '127.0.0.1' });
    expect(parseCliArgs(['names', '10.0.0.5']).command).toEqual({
      name: 'names',
      host: '10.0.0.5',
    });
    expect(parseCliArgs(['watch']).command).toEqual({ name: 'watch' });
  });

  it('reads --json, --timeout and repeated --seed (ports kept) anywhere on the line', () => {
    expect(
      parseCliArgs([
        '--seed',
        'a@127.0.0.1:4001',
        'members',
        '--json',
        '--timeout',
        '800',
        '--seed=b@h',
      ]),
    ).toEqual({
      command: { name: 'members' },
      json: true,
      timeoutMs: 800,
      seeds: ['a@127.0.0.1:4001', 'b@h'],
    });
  });

  it('names the node to ask canonically (a port written into it is dropped)', () => {
    expect(parseCliArgs(['info', 'b@127.0.0.1:4001']).command).toEqual({
      name: 'info',
      node: 'b@127.0.0.1',
    });
  });

  it('gives no command with --help', () => {
    expect(parseCliArgs(['--help']).command).toBeUndefined();
    expect(parseCliArgs(['ping', 'b@h', '-h']).command).toBeUndefined();
  });

  it('refuses what it cannot run, saying why', () => {
    expect(refused([])).toMatch(/no command given/);
    expect(refused(['status'])).toMatch(/unknown command "status"/);
    expect(refused(['ping'])).toMatch(/ping needs a node name/);
    expect(refused(['info', 'nohost'])).toMatch(/info "nohost" is not a node name/);
    expect(refused(['ping', 'b@h', 'c@h'])).toMatch(/no more arguments.*c@h/);
    expect(refused(['watch', 'x'])).toMatch(/no more arguments/);
    expect(refused(['members', '--verbose'])).toMatch(/verbose/);
    expect(refused(['ping', 'b@h', '--count', '0'])).toMatch(/--count must be an integer from 1/);
    expect(refused(['ping', 'b@h', '--count', '2.5'])).toMatch(/--count/);
    expect(refused(['members', '--timeout', 'soon'])).toMatch(/--timeout must be an integer/);
    expect(refused(['members', '--timeout', '99999999999'])).toMatch(/--timeout/);
    expect(refused(['info', 'b@h', '--node', 'c@h'])).toMatch(/--node does not apply to info/);
    expect(refused(['members', '--count', '2'])).toMatch(/--count does not apply to members/);
    expect(refused(['members', '--seed', 'not-a-node'])).toMatch(/--seed "not-a-node"/);
  });
});
