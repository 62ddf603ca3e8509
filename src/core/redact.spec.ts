import { redactUrlCredentials } from './index.js';

describe('redactUrlCredentials', () => {
  it.each([
    ['http://root:s3cretPW@127.0.0.1:2379', 'http://***@127.0.0.1:2379'],
    ['https://user@h:2379/p', 'https://***@h:2379/p'],
    ['//user@h', '//***@h'],
    ['//user:pw@h/path?q=1#f', '//***@h/path?q=1#f'],
    [
      'etcd:http://h0:2379/p,http://root:pw@h1:2379/p',
      'etcd:http://h0:2379/p,http://***@h1:2379/p',
    ],
    ['hosts:/a|etcd:http://u:p@h:2379/x', 'hosts:/a|etcd:http://***@h:2379/x'],
    ['http://u:p@ss@h:1', 'http://***@h:1'],
    ['http://u:%40pw@h', 'http://***@h'],
  ])('redacts %p', (input, expected) => {
    expect(redactUrlCredentials(input)).toBe(expected);
  });

  it('redacts inside JSON text, also a password holding an escaped quote', () => {
    const json = JSON.stringify({
      strategy: 'etcd',
      endpoints: ['http://h0:2379', 'http://root:pa"ss@h1:2379'],
    });
    const out = redactUrlCredentials(json);
    expect(out).not.toContain('root');
    expect(out).not.toContain('pa');
    expect(out).toContain('http://***@h1:2379');
    expect(out).toContain('"http://h0:2379"');
  });

  it('redacts every URL of a message, not only the first', () => {
    const out = redactUrlCredentials('a //x:1@h b //y:2@k c');
    expect(out).toBe('a //***@h b //***@k c');
  });

  it.each([
    'http://127.0.0.1:2379/prefix',
    'hosts:/etc/gc.hosts|gossip',
    'user@example.com',
    'mailto:someone@example.com',
    '',
    '{"strategy":"gossip","port":45892}',
  ])('leaves %p unchanged', input => {
    expect(redactUrlCredentials(input)).toBe(input);
  });
});
