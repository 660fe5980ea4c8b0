// A small W3C WebDriver client (fetch only): enough to drive the app
// through tauri-driver without a client library.

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async start(base, capabilities) {
    const r = await req(base, 'POST', '/session', { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return req(this.base, method, `/session/${this.id}${path}`, body);
  }

  async find(css) {
    const r = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return Object.values(r)[0];
  }

  async findAll(css) {
    const r = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return r.map((e) => Object.values(e)[0]);
  }

  /** Wait until `css` matches (and, with `text`, its text contains it). */
  async waitFor(css, { timeout = 20000, text } = {}) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        const els = await this.findAll(css);
        for (const el of els) {
          if (text === undefined) return el;
          const t = await this.text(el);
          if (t.includes(text)) return el;
          last = t;
        }
      } catch (e) {
        last = e.message;
      }
      await sleep(150);
    }
    throw new Error(`timed out waiting for ${css}${text ? ` with "${text}"` : ''} (last: ${last})`);
  }

  async click(css) {
    const el = await this.waitFor(css);
    try {
      await this.cmd('POST', `/element/${el}/click`, {});
    } catch (e) {
      // Under a sticky bar: bring it to the middle of the screen, as a finger would scroll.
      if (!String(e.message).includes('intercepted')) throw e;
      await this.exec('arguments[0].scrollIntoView({ block: "center" })', [{ [ELEMENT]: el }]);
      await sleep(100);
      await this.cmd('POST', `/element/${el}/click`, {});
    }
    return el;
  }

  async type(css, text, { clear = true } = {}) {
    const el = await this.waitFor(css);
    if (clear) await this.cmd('POST', `/element/${el}/clear`, {});
    await this.cmd('POST', `/element/${el}/value`, { text });
    return el;
  }

  /** An attribute of the first element `css` matches. */
  async attr(css, name) {
    const el = await this.waitFor(css);
    return this.cmd('GET', `/element/${el}/attribute/${name}`);
  }

  async text(el) {
    return this.cmd('GET', `/element/${el}/text`);
  }

  exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }

  setRect(width, height) {
    return this.cmd('POST', '/window/rect', { width, height, x: 0, y: 0 });
  }

  end() {
    return this.cmd('DELETE', '');
  }
}

export async function req(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json.value ?? json).slice(0, 400)}`);
  }
  return json.value;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
